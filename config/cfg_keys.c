/*
 * cfg_keys.c - the key table: every configuration key Patroni documents, what gsha does with it,
 * its type, range, default and environment variable. Loading, defaults, validation, environment
 * overrides, summaries and suggestions all read these rows.
 *
 * Sources: Patroni's docs/yaml_configuration.rst, docs/dynamic_configuration.rst,
 * docs/ENVIRONMENT.rst, patroni/config.py (3.0.2). Durations are in ms; Patroni writes seconds.
 */
#include <stddef.h>
#include <stdint.h>

#include "cfg_internal.h"
#include "enum_name.h"

#define CF(m) .offset = offsetof(struct cfg, m), .size = sizeof(((struct cfg *)0)->m)
#define DF(m) \
	.offset = offsetof(struct cfg_dynamic, m), .size = sizeof(((struct cfg_dynamic *)0)->m)

#define SEC 1000
#define DAY_MS (86400LL * 1000)
#define ANY_I64 .min = INT64_MIN, .max = INT64_MAX

static const char *const engine_names[] = {
	[CFG_ENGINE_POSTGRESQL] = "postgresql", [CFG_ENGINE_OPENGAUSS] = "opengauss", NULL
};
static const char *const verify_client_names[] = { [CFG_VERIFY_CLIENT_NONE] = "none",
						   [CFG_VERIFY_CLIENT_OPTIONAL] = "optional",
						   [CFG_VERIFY_CLIENT_REQUIRED] = "required",
						   NULL };
static const char *const watchdog_names[] = { [CFG_WATCHDOG_OFF] = "off",
					      [CFG_WATCHDOG_AUTOMATIC] = "automatic",
					      [CFG_WATCHDOG_REQUIRED] = "required",
					      NULL };
static const char *const sync_mode_names[] = {
	[CFG_SYNC_OFF] = "off", [CFG_SYNC_ON] = "on", [CFG_SYNC_QUORUM] = "quorum", NULL
};
static const char *const protocol_names[] = {
	[CFG_PROTOCOL_HTTP] = "http", [CFG_PROTOCOL_HTTPS] = "https", NULL
};
static const char *const kind_names[] = { [CFG_VALUE_STRING] = "string",
					  [CFG_VALUE_NUMBER] = "number",
					  [CFG_VALUE_BOOL] = "bool",
					  [CFG_VALUE_NONE] = "none",
					  NULL };

const char *cfg_engine_name(enum cfg_engine e)
{
	return ENUM_NAME(engine_names, e);
}

const char *cfg_verify_client_name(enum cfg_verify_client v)
{
	return ENUM_NAME(verify_client_names, v);
}

const char *cfg_watchdog_mode_name(enum cfg_watchdog_mode m)
{
	return ENUM_NAME(watchdog_names, m);
}

const char *cfg_sync_mode_name(enum cfg_sync_mode m)
{
	return ENUM_NAME(sync_mode_names, m);
}

const char *cfg_protocol_name(enum cfg_protocol p)
{
	return ENUM_NAME(protocol_names, p);
}

const char *cfg_value_kind_name(enum cfg_value_kind k)
{
	return ENUM_NAME(kind_names, k);
}

/* Patroni 4.1's per-role parameters, pg_hba and pg_ident, in the file and in bootstrap.dcs. */
#define PER_ROLE_ROW(what, role)                                               \
	{                                                                      \
		.path = "postgresql." #what "_" #role, .type = CFG_KEY_IGNORED \
	}
#define PER_ROLE_ROWS                                                                    \
	PER_ROLE_ROW(parameters, primary), PER_ROLE_ROW(parameters, replica),            \
		PER_ROLE_ROW(parameters, standby_leader), PER_ROLE_ROW(pg_hba, primary), \
		PER_ROLE_ROW(pg_hba, replica), PER_ROLE_ROW(pg_hba, standby_leader),     \
		PER_ROLE_ROW(pg_ident, primary), PER_ROLE_ROW(pg_ident, replica),        \
		PER_ROLE_ROW(pg_ident, standby_leader)

/* The dynamic configuration: bootstrap.dcs in the file, the "config" key in etcd. */
const struct cfg_key cfg_dynamic_keys[] = {
	{ .path = "ttl",
	  .type = CFG_KEY_DURATION,
	  DF(ttl_ms),
	  .min = 2 * SEC,
	  .max = DAY_MS,
	  .def = "30",
	  .env = "TTL",
	  .hint = "the leader lease needs at least 2 s (Patroni's default is 30)" },
	{ .path = "loop_wait",
	  .type = CFG_KEY_DURATION,
	  DF(loop_wait_ms),
	  .min = 100,
	  .max = 3600 * SEC,
	  .def = "10",
	  .env = "LOOP_WAIT",
	  .hint = "use 100ms or more" },
	{ .path = "retry_timeout",
	  .type = CFG_KEY_DURATION,
	  DF(retry_timeout_ms),
	  .min = 100,
	  .max = 3600 * SEC,
	  .def = "10",
	  .env = "RETRY_TIMEOUT",
	  .hint = "use 100ms or more" },
	{ .path = "maximum_lag_on_failover",
	  .type = CFG_KEY_INT64,
	  DF(maximum_lag_on_failover_bytes),
	  .min = 0,
	  .max = INT64_MAX,
	  .def = "1048576",
	  .env = "MAXIMUM_LAG_ON_FAILOVER",
	  .hint = "give a number of bytes" },
	{ .path = "maximum_lag_on_syncnode",
	  .type = CFG_KEY_INT64,
	  DF(maximum_lag_on_syncnode_bytes),
	  .min = -1,
	  .max = INT64_MAX,
	  .def = "-1" },
	{ .path = "primary_race_backoff",
	  .type = CFG_KEY_DURATION,
	  DF(primary_race_backoff_ms),
	  .min = 0,
	  .max = 3600 * SEC,
	  .def = "0",
	  .flags = CFG_F_TODO,
	  .hint = "gsha starts the leader race at once, as with 0" },
	{ .path = "max_timelines_history",
	  .type = CFG_KEY_INT,
	  DF(max_timelines_history),
	  .min = 0,
	  .max = 1000000,
	  .def = "0" },
	{ .path = "primary_start_timeout",
	  .type = CFG_KEY_DURATION,
	  DF(primary_start_timeout_ms),
	  .min = 0,
	  .max = DAY_MS,
	  .def = "300" },
	{ .path = "master_start_timeout", .alias_of = "primary_start_timeout" },
	{ .path = "primary_stop_timeout",
	  .type = CFG_KEY_DURATION,
	  DF(primary_stop_timeout_ms),
	  .min = 0,
	  .max = DAY_MS,
	  .def = "0",
	  .flags = CFG_F_TODO,
	  .hint = "gsha waits for the stop up to postgresql.pg_ctl_timeout" },
	{ .path = "master_stop_timeout", .alias_of = "primary_stop_timeout" },
	{ .path = "synchronous_mode",
	  .type = CFG_KEY_ENUM,
	  DF(synchronous_mode),
	  .names = sync_mode_names,
	  .env = "SYNCHRONOUS_MODE" },
	{ .path = "synchronous_mode_strict", .type = CFG_KEY_BOOL, DF(synchronous_mode_strict) },
	{ .path = "synchronous_node_count",
	  .type = CFG_KEY_INT,
	  DF(synchronous_node_count),
	  .min = 1,
	  .max = 1000,
	  .def = "1" },
	{ .path = "failsafe_mode", .type = CFG_KEY_BOOL, DF(failsafe_mode) },
	{ .path = "check_timeline", .type = CFG_KEY_BOOL, DF(check_timeline) },
	{ .path = "pause", .type = CFG_KEY_BOOL, DF(pause) },
	{ .path = "postgresql", .type = CFG_KEY_SECTION },
	{ .path = "postgresql.use_pg_rewind", .type = CFG_KEY_BOOL, DF(postgresql.use_pg_rewind) },
	{ .path = "postgresql.use_slots",
	  .type = CFG_KEY_BOOL,
	  DF(postgresql.use_slots),
	  .def = "true" },
	{ .path = "postgresql.parameters", .type = CFG_KEY_PARAMS, DF(postgresql.parameters) },
	{ .path = "postgresql.pg_hba", .type = CFG_KEY_LIST, DF(postgresql.pg_hba) },
	{ .path = "postgresql.pg_ident",
	  .type = CFG_KEY_LIST,
	  .flags = CFG_F_TODO,
	  DF(postgresql.pg_ident),
	  .hint = "gsha leaves pg_ident.conf as it is" },
	{ .path = "postgresql.recovery_conf", .type = CFG_KEY_IGNORED },
	/* Patroni reads these local keys from the dynamic configuration too. */
	{ .path = "postgresql.rewind", .type = CFG_KEY_IGNORED },
	{ .path = "postgresql.basebackup",
	  .type = CFG_KEY_IGNORED,
	  .hint = "set it under postgresql in the file" },
	{ .path = "postgresql.pg_ctl_timeout",
	  .type = CFG_KEY_IGNORED,
	  .hint = "set it under postgresql in the file" },
	PER_ROLE_ROWS,
	{ .path = "postgresql.bin_name", .type = CFG_KEY_IGNORED },
	{ .path = "standby_cluster", .type = CFG_KEY_SECTION },
	{ .path = "standby_cluster.host", .type = CFG_KEY_STRING, DF(standby_cluster.host) },
	{ .path = "standby_cluster.port",
	  .type = CFG_KEY_INT,
	  DF(standby_cluster.port),
	  .min = 1,
	  .max = 65535 },
	{ .path = "standby_cluster.primary_slot_name",
	  .type = CFG_KEY_STRING,
	  DF(standby_cluster.primary_slot_name) },
	{ .path = "standby_cluster.restore_command",
	  .type = CFG_KEY_STRING,
	  DF(standby_cluster.restore_command) },
	{ .path = "standby_cluster.archive_cleanup_command",
	  .type = CFG_KEY_STRING,
	  DF(standby_cluster.archive_cleanup_command) },
	{ .path = "standby_cluster.recovery_min_apply_delay",
	  .type = CFG_KEY_STRING,
	  DF(standby_cluster.recovery_min_apply_delay) },
	{ .path = "standby_cluster.create_replica_methods",
	  .type = CFG_KEY_LIST,
	  DF(standby_cluster.create_replica_methods) },
	{ .path = "slots", .type = CFG_KEY_SLOTS, DF(slots) },
	{ .path = "ignore_slots", .type = CFG_KEY_IGNORE_SLOTS, DF(ignore_slots) },
	{ .path = "member_slots_ttl",
	  .type = CFG_KEY_DURATION,
	  DF(member_slots_ttl_ms),
	  .min = 0,
	  .max = 365 * DAY_MS,
	  .def = "1800" },
	{ .path = NULL },
};

/* Patroni requires the superuser and replication users; the rewind user is optional. */
#define REQ_superuser CFG_F_REQUIRED
#define REQ_replication CFG_F_REQUIRED
#define REQ_rewind 0

#define AUTH_TODO "gsha connects with user name and password only"
#define AUTH_ROWS(role, ENV)                                                                \
	{ .path = "postgresql.authentication." #role, .type = CFG_KEY_SECTION },            \
		{ .path = "postgresql.authentication." #role ".username",                   \
		  .type = CFG_KEY_STRING,                                                   \
		  CF(postgresql.authentication.role.username),                              \
		  .env = ENV "_USERNAME",                                                   \
		  .flags = REQ_##role,                                                      \
		  .hint = "give the " #role " user name" },                                 \
		{ .path = "postgresql.authentication." #role ".password",                   \
		  .type = CFG_KEY_STRING,                                                   \
		  .flags = CFG_F_SECRET,                                                    \
		  CF(postgresql.authentication.role.password),                              \
		  .env = ENV "_PASSWORD" },                                                 \
		{ .path = "postgresql.authentication." #role ".sslmode",                    \
		  .type = CFG_KEY_STRING,                                                   \
		  CF(postgresql.authentication.role.sslmode),                               \
		  .flags = CFG_F_TODO | 0,                                                  \
		  .hint = AUTH_TODO,                                                        \
		  .env = ENV "_SSLMODE" },                                                  \
		{ .path = "postgresql.authentication." #role ".sslcert",                    \
		  .type = CFG_KEY_STRING,                                                   \
		  CF(postgresql.authentication.role.sslcert),                               \
		  .flags = CFG_F_TODO | 0,                                                  \
		  .hint = AUTH_TODO,                                                        \
		  .env = ENV "_SSLCERT" },                                                  \
		{ .path = "postgresql.authentication." #role ".sslkey",                     \
		  .type = CFG_KEY_STRING,                                                   \
		  CF(postgresql.authentication.role.sslkey),                                \
		  .flags = CFG_F_TODO | 0,                                                  \
		  .hint = AUTH_TODO,                                                        \
		  .env = ENV "_SSLKEY" },                                                   \
		{ .path = "postgresql.authentication." #role ".sslpassword",                \
		  .type = CFG_KEY_STRING,                                                   \
		  CF(postgresql.authentication.role.sslpassword),                           \
		  .flags = CFG_F_TODO | CFG_F_SECRET,                                       \
		  .hint = AUTH_TODO,                                                        \
		  .env = ENV "_SSLPASSWORD" },                                              \
		{ .path = "postgresql.authentication." #role ".sslrootcert",                \
		  .type = CFG_KEY_STRING,                                                   \
		  CF(postgresql.authentication.role.sslrootcert),                           \
		  .flags = CFG_F_TODO | 0,                                                  \
		  .hint = AUTH_TODO,                                                        \
		  .env = ENV "_SSLROOTCERT" },                                              \
		{ .path = "postgresql.authentication." #role ".sslcrl",                     \
		  .type = CFG_KEY_STRING,                                                   \
		  CF(postgresql.authentication.role.sslcrl),                                \
		  .flags = CFG_F_TODO | 0,                                                  \
		  .hint = AUTH_TODO,                                                        \
		  .env = ENV "_SSLCRL" },                                                   \
		{ .path = "postgresql.authentication." #role ".sslcrldir",                  \
		  .type = CFG_KEY_STRING,                                                   \
		  CF(postgresql.authentication.role.sslcrldir),                             \
		  .flags = CFG_F_TODO | 0,                                                  \
		  .hint = AUTH_TODO,                                                        \
		  .env = ENV "_SSLCRLDIR" },                                                \
		{ .path = "postgresql.authentication." #role ".gssencmode",                 \
		  .type = CFG_KEY_STRING,                                                   \
		  CF(postgresql.authentication.role.gssencmode),                            \
		  .flags = CFG_F_TODO | 0,                                                  \
		  .hint = AUTH_TODO,                                                        \
		  .env = ENV "_GSSENCMODE" },                                               \
		{ .path = "postgresql.authentication." #role ".sslnegotiation",             \
		  .type = CFG_KEY_IGNORED,                                                  \
		  .env = ENV "_SSLNEGOTIATION",                                             \
		  .hint = AUTH_TODO },                                                      \
	{                                                                                   \
		.path = "postgresql.authentication." #role ".channel_binding",              \
		.type = CFG_KEY_STRING, CF(postgresql.authentication.role.channel_binding), \
		.env = ENV "_CHANNEL_BINDING", .flags = CFG_F_TODO, .hint = AUTH_TODO       \
	}

/* The local configuration: the YAML file and the environment. */
const struct cfg_key cfg_keys[] = {
	{ .path = "name",
	  .type = CFG_KEY_MEMBER_NAME,
	  .flags = CFG_F_REQUIRED,
	  CF(name),
	  .env = "NAME",
	  .hint = "give this member a name unique in the cluster" },
	{ .path = "scope",
	  .type = CFG_KEY_STRING,
	  .flags = CFG_F_REQUIRED,
	  CF(scope),
	  .env = "SCOPE",
	  .hint = "give the cluster name, the same on every member" },
	{ .path = "namespace",
	  .type = CFG_KEY_STRING,
	  CF(namespace_),
	  .def = "/service/",
	  .env = "NAMESPACE" },

	/* Patroni 4: Python thread settings. */
	{ .path = "thread_pool_size",
	  .type = CFG_KEY_IGNORED,
	  .env = "THREAD_POOL_SIZE",
	  .hint = "gsha is not a Python program" },
	{ .path = "thread_stack_size",
	  .type = CFG_KEY_IGNORED,
	  .env = "THREAD_STACK_SIZE",
	  .hint = "gsha is not a Python program" },

	{ .path = "log", .type = CFG_KEY_SECTION },
	{ .path = "log.level",
	  .type = CFG_KEY_LOG_LEVEL,
	  CF(log.level),
	  .def = "info",
	  .env = "LOG_LEVEL",
	  .env_alias = "LOGLEVEL" },
	{ .path = "log.format",
	  .type = CFG_KEY_LOG_FORMAT,
	  CF(log.format),
	  .def = "text",
	  .env = "LOG_FORMAT",
	  .env_alias = "LOGFORMAT" },
	{ .path = "log.type", .type = CFG_KEY_LOG_FORMAT, CF(log.format), .env = "LOG_TYPE" },
	{ .path = "log.static_fields",
	  .type = CFG_KEY_PARAMS,
	  CF(log.static_fields),
	  .env = "LOG_STATIC_FIELDS" },
	{ .path = "log.mode", .type = CFG_KEY_IGNORED, .env = "LOG_MODE" },
	{ .path = "log.dir", .type = CFG_KEY_STRING, CF(log.dir), .env = "LOG_DIR" },
	{ .path = "log.deduplicate_heartbeat_logs", .type = CFG_KEY_IGNORED },
	{ .path = "log.traceback_level", .type = CFG_KEY_IGNORED, .env = "LOG_TRACEBACK_LEVEL" },
	{ .path = "log.dateformat",
	  .type = CFG_KEY_IGNORED,
	  .env = "LOG_DATEFORMAT",
	  .env_alias = "LOG_DATEFMT" },
	{ .path = "log.max_queue_size", .type = CFG_KEY_IGNORED, .env = "LOG_MAX_QUEUE_SIZE" },
	{ .path = "log.file_num",
	  .type = CFG_KEY_INT,
	  CF(log.file_num),
	  .min = 0,
	  .max = 1000,
	  .def = "4",
	  .env = "LOG_FILE_NUM" },
	{ .path = "log.file_size",
	  .type = CFG_KEY_INT64,
	  CF(log.file_size_bytes),
	  .min = 0,
	  .max = INT64_MAX,
	  .def = "25000000",
	  .env = "LOG_FILE_SIZE" },
	{ .path = "log.loggers", .type = CFG_KEY_IGNORED, .env = "LOG_LOGGERS" },

	{ .path = "restapi", .type = CFG_KEY_SECTION },
	{ .path = "restapi.listen",
	  .type = CFG_KEY_LISTEN,
	  .flags = CFG_F_REQUIRED,
	  CF(restapi.listen),
	  .env = "RESTAPI_LISTEN",
	  .hint = "give the host:port the REST API listens on, such as 0.0.0.0:8008" },
	{ .path = "restapi.connect_address",
	  .type = CFG_KEY_ADDRESS,
	  .flags = CFG_F_REQUIRED,
	  CF(restapi.connect_address),
	  .env = "RESTAPI_CONNECT_ADDRESS",
	  .hint = "give the host:port other members reach this REST API on" },
	{ .path = "restapi.authentication", .type = CFG_KEY_SECTION },
	{ .path = "restapi.authentication.username",
	  .type = CFG_KEY_STRING,
	  CF(restapi.username),
	  .env = "RESTAPI_USERNAME" },
	{ .path = "restapi.authentication.password",
	  .type = CFG_KEY_STRING,
	  .flags = CFG_F_SECRET,
	  CF(restapi.password),
	  .env = "RESTAPI_PASSWORD" },
	{ .path = "restapi.certfile",
	  .type = CFG_KEY_STRING,
	  CF(restapi.certfile),
	  .env = "RESTAPI_CERTFILE" },
	{ .path = "restapi.keyfile",
	  .type = CFG_KEY_STRING,
	  CF(restapi.keyfile),
	  .env = "RESTAPI_KEYFILE" },
	{ .path = "restapi.keyfile_password",
	  .type = CFG_KEY_STRING,
	  .flags = CFG_F_SECRET,
	  CF(restapi.keyfile_password),
	  .env = "RESTAPI_KEYFILE_PASSWORD" },
	{ .path = "restapi.cafile",
	  .type = CFG_KEY_STRING,
	  CF(restapi.cafile),
	  .env = "RESTAPI_CAFILE" },
	{ .path = "restapi.ciphers",
	  .type = CFG_KEY_STRING,
	  CF(restapi.ciphers),
	  .env = "RESTAPI_CIPHERS",
	  .flags = CFG_F_TODO,
	  .hint = "the REST server uses the TLS library's default ciphers" },
	{ .path = "restapi.verify_client",
	  .type = CFG_KEY_ENUM,
	  CF(restapi.verify_client),
	  .names = verify_client_names,
	  .def = "none",
	  .env = "RESTAPI_VERIFY_CLIENT" },
	{ .path = "restapi.allowlist",
	  .type = CFG_KEY_LIST,
	  .flags = CFG_F_CSV,
	  CF(restapi.allowlist),
	  .env = "RESTAPI_ALLOWLIST" },
	{ .path = "restapi.allowlist_include_members",
	  .type = CFG_KEY_BOOL,
	  CF(restapi.allowlist_include_members),
	  .env = "RESTAPI_ALLOWLIST_INCLUDE_MEMBERS" },
	{ .path = "restapi.http_extra_headers",
	  .type = CFG_KEY_PARAMS,
	  CF(restapi.http_extra_headers),
	  .env = "RESTAPI_HTTP_EXTRA_HEADERS" },
	{ .path = "restapi.https_extra_headers",
	  .type = CFG_KEY_PARAMS,
	  CF(restapi.https_extra_headers),
	  .env = "RESTAPI_HTTPS_EXTRA_HEADERS" },
	{ .path = "restapi.server_tokens",
	  .type = CFG_KEY_IGNORED,
	  .env = "RESTAPI_SERVER_TOKENS" },
	{ .path = "restapi.request_queue_size",
	  .type = CFG_KEY_INT,
	  CF(restapi.request_queue_size),
	  .min = 0,
	  .max = 4096,
	  .def = "5",
	  .env = "RESTAPI_REQUEST_QUEUE_SIZE",
	  .flags = CFG_F_TODO,
	  .hint = "the REST server keeps its own listen backlog" },
	{ .path = "restapi.thread_pool_size",
	  .type = CFG_KEY_IGNORED,
	  .env = "RESTAPI_THREAD_POOL_SIZE",
	  .hint = "the REST server sizes its own threads" },

	{ .path = "ctl", .type = CFG_KEY_SECTION },
	{ .path = "ctl.authentication", .type = CFG_KEY_SECTION },
	{ .path = "ctl.authentication.username", .type = CFG_KEY_STRING, CF(ctl.username) },
	{ .path = "ctl.authentication.password",
	  .type = CFG_KEY_STRING,
	  .flags = CFG_F_SECRET,
	  CF(ctl.password) },
	{ .path = "ctl.insecure", .type = CFG_KEY_BOOL, CF(ctl.insecure), .env = "CTL_INSECURE" },
	{ .path = "ctl.cacert", .type = CFG_KEY_STRING, CF(ctl.cacert), .env = "CTL_CACERT" },
	{ .path = "ctl.certfile", .type = CFG_KEY_STRING, CF(ctl.certfile), .env = "CTL_CERTFILE" },
	{ .path = "ctl.keyfile", .type = CFG_KEY_STRING, CF(ctl.keyfile), .env = "CTL_KEYFILE" },
	{ .path = "ctl.keyfile_password",
	  .type = CFG_KEY_STRING,
	  .flags = CFG_F_SECRET,
	  CF(ctl.keyfile_password),
	  .env = "CTL_KEYFILE_PASSWORD" },

	{ .path = "etcd3", .type = CFG_KEY_SECTION },
	{ .path = "etcd", .alias_of = "etcd3" },
	{ .path = "etcd3.hosts",
	  .type = CFG_KEY_LIST,
	  .flags = CFG_F_CSV,
	  CF(etcd3.hosts),
	  .env = "ETCD3_HOSTS",
	  .env_alias = "ETCD_HOSTS" },
	{ .path = "etcd3.host",
	  .type = CFG_KEY_LIST,
	  .flags = CFG_F_CSV,
	  CF(etcd3.hosts),
	  .env = "ETCD3_HOST",
	  .env_alias = "ETCD_HOST" },
	{ .path = "etcd3.port",
	  .type = CFG_KEY_INT,
	  CF(etcd3.port),
	  .min = 1,
	  .max = 65535,
	  .def = "2379",
	  .env = "ETCD3_PORT",
	  .env_alias = "ETCD_PORT" },
	{ .path = "etcd3.protocol",
	  .type = CFG_KEY_ENUM,
	  CF(etcd3.protocol),
	  .names = protocol_names,
	  .def = "http",
	  .env = "ETCD3_PROTOCOL",
	  .env_alias = "ETCD_PROTOCOL" },
	{ .path = "etcd3.url",
	  .type = CFG_KEY_STRING,
	  CF(etcd3.url),
	  .env = "ETCD3_URL",
	  .env_alias = "ETCD_URL" },
	{ .path = "etcd3.proxy",
	  .type = CFG_KEY_STRING,
	  CF(etcd3.proxy),
	  .env = "ETCD3_PROXY",
	  .env_alias = "ETCD_PROXY",
	  .flags = CFG_F_TODO,
	  .hint = "list the etcd endpoints in etcd3.hosts" },
	{ .path = "etcd3.use_proxies",
	  .type = CFG_KEY_BOOL,
	  CF(etcd3.use_proxies),
	  .env = "ETCD3_USE_PROXIES",
	  .env_alias = "ETCD_USE_PROXIES",
	  .flags = CFG_F_TODO,
	  .hint = "gsha talks to the endpoints listed, as with false" },
	{ .path = "etcd3.username",
	  .type = CFG_KEY_STRING,
	  CF(etcd3.username),
	  .env = "ETCD3_USERNAME",
	  .env_alias = "ETCD_USERNAME" },
	{ .path = "etcd3.password",
	  .type = CFG_KEY_STRING,
	  .flags = CFG_F_SECRET,
	  CF(etcd3.password),
	  .env = "ETCD3_PASSWORD",
	  .env_alias = "ETCD_PASSWORD" },
	{ .path = "etcd3.cacert",
	  .type = CFG_KEY_STRING,
	  CF(etcd3.cacert),
	  .env = "ETCD3_CACERT",
	  .env_alias = "ETCD_CACERT" },
	{ .path = "etcd3.cert",
	  .type = CFG_KEY_STRING,
	  CF(etcd3.cert),
	  .env = "ETCD3_CERT",
	  .env_alias = "ETCD_CERT" },
	{ .path = "etcd3.key",
	  .type = CFG_KEY_STRING,
	  CF(etcd3.key),
	  .env = "ETCD3_KEY",
	  .env_alias = "ETCD_KEY" },
	{ .path = "etcd3.srv",
	  .type = CFG_KEY_IGNORED,
	  .env = "ETCD3_SRV",
	  .env_alias = "ETCD_SRV",
	  .hint = "DNS discovery: list the endpoints in etcd3.hosts" },
	{ .path = "etcd3.srv_suffix",
	  .type = CFG_KEY_IGNORED,
	  .env = "ETCD3_SRV_SUFFIX",
	  .env_alias = "ETCD_SRV_SUFFIX" },

	/* DCSs Patroni supports and gsha does not: etcd v3 is gsha's only DCS. */
	{ .path = "consul", .type = CFG_KEY_IGNORED },
	{ .path = "zookeeper", .type = CFG_KEY_IGNORED },
	{ .path = "exhibitor", .type = CFG_KEY_IGNORED },
	{ .path = "kubernetes", .type = CFG_KEY_IGNORED },
	{ .path = "raft", .type = CFG_KEY_IGNORED },
	{ .path = "citus", .type = CFG_KEY_IGNORED },

	{ .path = "bootstrap", .type = CFG_KEY_SECTION, .flags = CFG_F_BOOT_METHOD },
	{ .path = "bootstrap.dcs",
	  .type = CFG_KEY_SECTION,
	  .sub = cfg_dynamic_keys,
	  .sub_offset = offsetof(struct cfg, bootstrap.dcs) },
	{ .path = "bootstrap.initdb", .type = CFG_KEY_OPTIONS, CF(bootstrap.initdb) },
	{ .path = "bootstrap.pg_hba", .type = CFG_KEY_LIST, CF(bootstrap.pg_hba) },
	{ .path = "bootstrap.users",
	  .type = CFG_KEY_USERS,
	  CF(bootstrap.users),
	  .flags = CFG_F_TODO,
	  .hint = "create the users by hand (Patroni 4 dropped this key)" },
	{ .path = "bootstrap.post_bootstrap",
	  .type = CFG_KEY_STRING,
	  CF(bootstrap.post_bootstrap) },
	{ .path = "bootstrap.post_init", .alias_of = "bootstrap.post_bootstrap" },
	{ .path = "bootstrap.method", .type = CFG_KEY_STRING, CF(bootstrap.method) },

	{ .path = "postgresql", .type = CFG_KEY_SECTION, .flags = CFG_F_METHODS },
	{ .path = "postgresql.engine",
	  .type = CFG_KEY_ENUM,
	  CF(postgresql.engine),
	  .names = engine_names,
	  .env = "POSTGRESQL_ENGINE" },
	{ .path = "postgresql.listen",
	  .type = CFG_KEY_LISTEN,
	  .flags = CFG_F_REQUIRED,
	  CF(postgresql.listen),
	  .env = "POSTGRESQL_LISTEN",
	  .hint = "give the host:port PostgreSQL listens on, such as 0.0.0.0:5432" },
	{ .path = "postgresql.connect_address",
	  .type = CFG_KEY_ADDRESS,
	  .flags = CFG_F_REQUIRED,
	  CF(postgresql.connect_address),
	  .env = "POSTGRESQL_CONNECT_ADDRESS",
	  .hint = "give the host:port other members reach PostgreSQL on" },
	{ .path = "postgresql.proxy_address",
	  .type = CFG_KEY_ADDRESS,
	  CF(postgresql.proxy_address),
	  .env = "POSTGRESQL_PROXY_ADDRESS",
	  .flags = CFG_F_TODO,
	  .hint = "gsha does not publish it in the member key yet" },
	{ .path = "postgresql.data_dir",
	  .type = CFG_KEY_STRING,
	  .flags = CFG_F_REQUIRED,
	  CF(postgresql.data_dir),
	  .env = "POSTGRESQL_DATA_DIR",
	  .hint = "give the data directory of this member's database" },
	{ .path = "postgresql.config_dir",
	  .type = CFG_KEY_STRING,
	  CF(postgresql.config_dir),
	  .env = "POSTGRESQL_CONFIG_DIR" },
	{ .path = "postgresql.bin_dir",
	  .type = CFG_KEY_STRING,
	  CF(postgresql.bin_dir),
	  .env = "POSTGRESQL_BIN_DIR" },
	{ .path = "postgresql.pgpass",
	  .type = CFG_KEY_STRING,
	  CF(postgresql.pgpass),
	  .env = "POSTGRESQL_PGPASS" },
	{ .path = "postgresql.authentication", .type = CFG_KEY_SECTION },
	AUTH_ROWS(superuser, "SUPERUSER"),
	AUTH_ROWS(replication, "REPLICATION"),
	AUTH_ROWS(rewind, "REWIND"),
	{ .path = "postgresql.parameters", .type = CFG_KEY_PARAMS, CF(postgresql.parameters) },
	{ .path = "postgresql.pg_hba", .type = CFG_KEY_LIST, CF(postgresql.pg_hba) },
	{ .path = "postgresql.pg_ident",
	  .type = CFG_KEY_LIST,
	  CF(postgresql.pg_ident),
	  .flags = CFG_F_TODO,
	  .hint = "gsha leaves pg_ident.conf as it is" },
	{ .path = "postgresql.recovery_conf",
	  .type = CFG_KEY_PARAMS,
	  CF(postgresql.recovery_conf) },
	{ .path = "postgresql.create_replica_methods",
	  .type = CFG_KEY_LIST,
	  CF(postgresql.create_replica_methods) },
	{ .path = "postgresql.basebackup", .type = CFG_KEY_OPTIONS, CF(postgresql.basebackup) },
	{ .path = "postgresql.callbacks", .type = CFG_KEY_SECTION },
	{ .path = "postgresql.callbacks.on_start",
	  .type = CFG_KEY_STRING,
	  CF(postgresql.callbacks.on_start),
	  .flags = CFG_F_ARGV },
	{ .path = "postgresql.callbacks.on_stop",
	  .type = CFG_KEY_STRING,
	  CF(postgresql.callbacks.on_stop),
	  .flags = CFG_F_ARGV },
	{ .path = "postgresql.callbacks.on_restart",
	  .type = CFG_KEY_STRING,
	  CF(postgresql.callbacks.on_restart),
	  .flags = CFG_F_ARGV },
	{ .path = "postgresql.callbacks.on_reload",
	  .type = CFG_KEY_STRING,
	  CF(postgresql.callbacks.on_reload),
	  .flags = CFG_F_ARGV },
	{ .path = "postgresql.callbacks.on_role_change",
	  .type = CFG_KEY_STRING,
	  CF(postgresql.callbacks.on_role_change),
	  .flags = CFG_F_ARGV },
	{ .path = "postgresql.pre_promote", .type = CFG_KEY_STRING, CF(postgresql.pre_promote) },
	{ .path = "postgresql.before_stop", .type = CFG_KEY_STRING, CF(postgresql.before_stop) },
	{ .path = "postgresql.pg_ctl_timeout",
	  .type = CFG_KEY_DURATION,
	  CF(postgresql.pg_ctl_timeout_ms),
	  .min = SEC,
	  .max = DAY_MS,
	  .def = "60" },
	{ .path = "postgresql.use_unix_socket",
	  .type = CFG_KEY_BOOL,
	  CF(postgresql.use_unix_socket),
	  .flags = CFG_F_TODO,
	  .hint = "gsha connects over TCP" },
	{ .path = "postgresql.use_unix_socket_repl",
	  .type = CFG_KEY_BOOL,
	  CF(postgresql.use_unix_socket_repl),
	  .flags = CFG_F_TODO,
	  .hint = "replicas connect over TCP" },
	{ .path = "postgresql.use_pg_rewind", .type = CFG_KEY_BOOL, CF(postgresql.use_pg_rewind) },
	{ .path = "postgresql.remove_data_directory_on_rewind_failure",
	  .type = CFG_KEY_BOOL,
	  CF(postgresql.remove_data_directory_on_rewind_failure) },
	{ .path = "postgresql.remove_data_directory_on_diverged_timelines",
	  .type = CFG_KEY_BOOL,
	  CF(postgresql.remove_data_directory_on_diverged_timelines) },
	{ .path = "postgresql.custom_conf",
	  .type = CFG_KEY_STRING,
	  CF(postgresql.custom_conf),
	  .flags = CFG_F_TODO,
	  .hint = "gsha writes its own postgresql.conf" },
	{ .path = "postgresql.bin_name", .type = CFG_KEY_IGNORED },
	{ .path = "postgresql.krbsrvname", .type = CFG_KEY_IGNORED },
	{ .path = "postgresql.rewind",
	  .type = CFG_KEY_IGNORED,
	  .hint = "gsha runs pg_rewind with its own options" },
	PER_ROLE_ROWS,
	{ .path = "postgresql.use_slots", .type = CFG_KEY_IGNORED },

	{ .path = "tags", .type = CFG_KEY_SECTION, .flags = CFG_F_TAGS },
	{ .path = "tags.nofailover", .type = CFG_KEY_BOOL, CF(tags.nofailover) },
	{ .path = "tags.noloadbalance", .type = CFG_KEY_BOOL, CF(tags.noloadbalance) },
	{ .path = "tags.clonefrom", .type = CFG_KEY_BOOL, CF(tags.clonefrom) },
	{ .path = "tags.nosync", .type = CFG_KEY_BOOL, CF(tags.nosync) },
	{ .path = "tags.failover_priority",
	  .type = CFG_KEY_INT,
	  CF(tags.failover_priority),
	  .min = 0,
	  .max = 1000000,
	  .def = "1" },
	{ .path = "tags.nostream", .type = CFG_KEY_BOOL, CF(tags.nostream) },
	{ .path = "tags.sync_priority",
	  .type = CFG_KEY_INT,
	  CF(tags.sync_priority),
	  .min = 0,
	  .max = 1000000,
	  .def = "1" },
	{ .path = "tags.replicatefrom", .type = CFG_KEY_MEMBER_NAME, CF(tags.replicatefrom) },

	{ .path = "watchdog", .type = CFG_KEY_SECTION },
	{ .path = "watchdog.mode",
	  .type = CFG_KEY_ENUM,
	  CF(watchdog.mode),
	  .names = watchdog_names,
	  .def = "automatic" },
	{ .path = "watchdog.device",
	  .type = CFG_KEY_STRING,
	  CF(watchdog.device),
	  .def = "/dev/watchdog" },
	{ .path = "watchdog.safety_margin",
	  .type = CFG_KEY_DURATION,
	  CF(watchdog.safety_margin_ms),
	  .min = -1,
	  .max = 3600 * SEC,
	  .def = "5",
	  .hint = "-1 means ttl / 2" },
	{ .path = NULL },
};
