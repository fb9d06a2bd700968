/*
 * Unit tests for the openGauss driver's pure codec (src/db/db_opengauss_codec.c): gs_ctl query
 * output and SQL values from the fixtures in tests/unit/fixtures/opengauss/ (written from the
 * formats of /work/shared/opengauss.md §2.7), text locations, the (term, lsn) record,
 * replconninfo rendering, the synchronous settings and the gs_ctl / gs_guc command lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "lsn.h"
#include "db_opengauss.h"
#include "db_opengauss_codec.h"

#ifndef OG_FIXTURE_DIR
#error "OG_FIXTURE_DIR must name tests/unit/fixtures/opengauss"
#endif

/* Largest fixture: the nine-sender file is under 8 KiB; the limit leaves room. */
#define FIXTURE_MAX (DB_OG_QUERY_TEXT_MAX + 1)
#define ERR_MAX 256

static char fixture_text[FIXTURE_MAX];

/* Reads a fixture into fixture_text and returns its length. */
static size_t load(const char *name)
{
	char path[512];
	FILE *f;
	size_t n;

	assert_int_equal(buf_format(path, sizeof(path), "%s/%s", OG_FIXTURE_DIR, name), 0);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open fixture %s", path);
	n = fread(fixture_text, 1, sizeof(fixture_text) - 1, f);
	fclose(f);
	fixture_text[n] = '\0';
	return n;
}

static struct db_og_query query;
static char err[ERR_MAX];

static int parse_fixture(const char *name)
{
	size_t n = load(name);

	memset(&query, 0xa5, sizeof(query));
	err[0] = '\0';
	return db_og_parse_query(fixture_text, n, &query, err, sizeof(err));
}

/* gs_ctl query: documented outputs ------------------------------------------------------- */

static void test_query_primary_with_sync_standby_parses_all_blocks(void **state)
{
	const struct db_og_sender *s;

	(void)state;
	assert_int_equal(parse_fixture("query_primary_one_sync_standby.txt"), 0);
	assert_int_equal(query.ha.local_role, DB_OG_ROLE_PRIMARY);
	assert_int_equal(query.ha.static_connections, 1);
	assert_int_equal(query.ha.db_state, DB_OG_DB_STATE_NORMAL);
	assert_int_equal(query.ha.detail, DB_OG_DETAIL_NORMAL);
	assert_string_equal(query.ha.detail_text, "Normal");
	assert_false(query.ha.from_state_file);
	assert_int_equal(query.n_senders, 1);
	s = &query.senders[0];
	assert_int_equal(s->sender_pid, 9386);
	assert_int_equal(s->local_role, DB_OG_ROLE_PRIMARY);
	assert_string_equal(s->peer_role, "Standby");
	assert_string_equal(s->peer_state, "Normal");
	assert_int_equal(s->state, DB_OG_SENDER_STREAMING);
	assert_int_equal(s->sent_lsn, 0x5000148);
	assert_int_equal(s->write_lsn, 0x5000148);
	assert_int_equal(s->flush_lsn, 0x5000148);
	assert_int_equal(s->replay_lsn, 0x5000148);
	assert_int_equal(s->sync_percent, 100);
	assert_int_equal(s->sync_state, DB_OG_SYNC_SYNC);
	assert_int_equal(s->sync_priority, 1);
	assert_false(s->sync_most_available);
	assert_string_equal(s->channel, "10.0.0.1:15401-->10.0.0.2:45678");
	assert_false(query.has_receiver);
}

static void test_query_primary_with_two_senders_splits_at_sender_pid(void **state)
{
	(void)state;
	assert_int_equal(parse_fixture("query_primary_two_senders.txt"), 0);
	assert_int_equal(query.n_senders, 2);
	assert_int_equal(query.senders[0].sync_state, DB_OG_SYNC_SYNC);
	assert_true(query.senders[0].sync_most_available);
	assert_int_equal(query.senders[1].sender_pid, 9390);
	assert_int_equal(query.senders[1].state, DB_OG_SENDER_CATCHUP);
	assert_int_equal(query.senders[1].sync_state, DB_OG_SYNC_POTENTIAL);
	assert_int_equal(query.senders[1].sync_priority, 2);
	assert_int_equal(query.senders[1].sync_percent, 97);
	assert_int_equal(query.senders[1].flush_lsn, 0x4FFF000);
	assert_string_equal(query.senders[1].channel, "10.0.0.1:15401-->10.0.0.3:45700");
}

static void test_query_primary_without_standby_has_no_senders(void **state)
{
	(void)state;
	assert_int_equal(parse_fixture("query_primary_no_standby.txt"), 0);
	assert_int_equal(query.ha.local_role, DB_OG_ROLE_PRIMARY);
	assert_int_equal(query.ha.static_connections, 2);
	assert_int_equal(query.n_senders, 0);
	assert_false(query.has_receiver);
}

static void test_query_streaming_standby_reads_receiver(void **state)
{
	(void)state;
	assert_int_equal(parse_fixture("query_standby_streaming.txt"), 0);
	assert_int_equal(query.ha.local_role, DB_OG_ROLE_STANDBY);
	assert_int_equal(query.n_senders, 0);
	assert_true(query.has_receiver);
	assert_int_equal(query.receiver.receiver_pid, 23456);
	assert_int_equal(query.receiver.local_role, DB_OG_ROLE_STANDBY);
	assert_string_equal(query.receiver.peer_role, "Primary");
	assert_string_equal(query.receiver.state, "Normal");
	assert_int_equal(query.receiver.received_lsn, 0x5000148);
	assert_int_equal(query.receiver.flush_lsn, 0x5000148);
	assert_int_equal(query.receiver.replay_lsn, 0x5000148);
	assert_int_equal(query.receiver.sender_flush_lsn, 0x5000148);
	assert_int_equal(query.receiver.sync_percent, 100);
	assert_string_equal(query.receiver.channel, "10.0.0.2:45678<--10.0.0.1:15401");
	assert_int_equal(db_og_build_advice(&query.ha), DB_OG_ADVICE_NONE);
}

static void test_query_catchup_standby_reads_percent_and_state(void **state)
{
	(void)state;
	assert_int_equal(parse_fixture("query_standby_catchup.txt"), 0);
	assert_int_equal(query.ha.db_state, DB_OG_DB_STATE_CATCHUP);
	assert_string_equal(query.receiver.state, "Catchup");
	assert_int_equal(query.receiver.sync_percent, 42);
	assert_int_equal(query.receiver.replay_lsn, 0x4000000);
}

/* Every documented role and state, one fixture each, with the advice it earns. */
struct state_case {
	const char *fixture;
	enum db_og_role role;
	enum db_og_db_state db_state;
	enum db_og_detail detail;
	enum db_og_build_advice advice;
};

static const struct state_case state_cases[] = {
	{ "query_cascade_standby.txt", DB_OG_ROLE_CASCADE_STANDBY, DB_OG_DB_STATE_NORMAL,
	  DB_OG_DETAIL_NORMAL, DB_OG_ADVICE_NONE },
	{ "query_standby_connecting.txt", DB_OG_ROLE_STANDBY, DB_OG_DB_STATE_STARTING,
	  DB_OG_DETAIL_CONNECTING, DB_OG_ADVICE_WAIT },
	{ "query_standby_disconnected.txt", DB_OG_ROLE_STANDBY, DB_OG_DB_STATE_NEED_REPAIR,
	  DB_OG_DETAIL_DISCONNECTED, DB_OG_ADVICE_WAIT },
	{ "query_standby_wal_removed.txt", DB_OG_ROLE_STANDBY, DB_OG_DB_STATE_NEED_REPAIR,
	  DB_OG_DETAIL_WAL_REMOVED, DB_OG_ADVICE_BUILD },
	{ "query_standby_system_id.txt", DB_OG_ROLE_STANDBY, DB_OG_DB_STATE_NEED_REPAIR,
	  DB_OG_DETAIL_SYSID_NOT_MATCHED, DB_OG_ADVICE_BUILD_FULL },
	{ "query_standby_timeline.txt", DB_OG_ROLE_STANDBY, DB_OG_DB_STATE_NEED_REPAIR,
	  DB_OG_DETAIL_TIMELINE_NOT_MATCHED, DB_OG_ADVICE_BUILD },
	/* §2.7 Corrected: CM builds on Version not matched and DCF log loss, never on Mode not
	 * matched or Unknown, and never on the bare Need repair. */
	{ "query_standby_version.txt", DB_OG_ROLE_STANDBY, DB_OG_DB_STATE_NEED_REPAIR,
	  DB_OG_DETAIL_VERSION_NOT_MATCHED, DB_OG_ADVICE_BUILD },
	{ "query_standby_dcf_log_loss.txt", DB_OG_ROLE_STANDBY, DB_OG_DB_STATE_NEED_REPAIR,
	  DB_OG_DETAIL_DCF_LOG_LOSS, DB_OG_ADVICE_BUILD },
	{ "query_standby_mode.txt", DB_OG_ROLE_STANDBY, DB_OG_DB_STATE_NEED_REPAIR,
	  DB_OG_DETAIL_MODE_NOT_MATCHED, DB_OG_ADVICE_REFUSE },
	{ "query_standby_need_repair_unknown.txt", DB_OG_ROLE_STANDBY, DB_OG_DB_STATE_NEED_REPAIR,
	  DB_OG_DETAIL_UNKNOWN, DB_OG_ADVICE_NONE },
	{ "query_standby_need_repair_connecting.txt", DB_OG_ROLE_STANDBY,
	  DB_OG_DB_STATE_NEED_REPAIR, DB_OG_DETAIL_CONNECTING, DB_OG_ADVICE_WAIT },
	{ "query_standby_building.txt", DB_OG_ROLE_STANDBY, DB_OG_DB_STATE_BUILDING,
	  DB_OG_DETAIL_NORMAL, DB_OG_ADVICE_NONE },
	/* §2.7 Corrected: a Pending node always shows Need repair. */
	{ "query_pending.txt", DB_OG_ROLE_PENDING, DB_OG_DB_STATE_NEED_REPAIR,
	  DB_OG_DETAIL_CONNECTING, DB_OG_ADVICE_NONE },
	/* The operator's published sample (opengauss.md 2.7), leading tabs as spaces. */
	{ "query_operator_sample.txt", DB_OG_ROLE_PRIMARY, DB_OG_DB_STATE_NORMAL,
	  DB_OG_DETAIL_NORMAL, DB_OG_ADVICE_NONE },
	{ "query_normal.txt", DB_OG_ROLE_NORMAL, DB_OG_DB_STATE_NORMAL, DB_OG_DETAIL_NORMAL,
	  DB_OG_ADVICE_NONE },
	{ "query_wait_promoting.txt", DB_OG_ROLE_STANDBY, DB_OG_DB_STATE_WAIT_PROMOTING,
	  DB_OG_DETAIL_NORMAL, DB_OG_ADVICE_NONE },
	{ "query_promoting.txt", DB_OG_ROLE_STANDBY, DB_OG_DB_STATE_PROMOTING, DB_OG_DETAIL_NORMAL,
	  DB_OG_ADVICE_NONE },
	{ "query_demoting.txt", DB_OG_ROLE_PRIMARY, DB_OG_DB_STATE_DEMOTING, DB_OG_DETAIL_NORMAL,
	  DB_OG_ADVICE_NONE },
};

static void test_query_every_documented_state_parses_and_advises(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(state_cases) / sizeof(state_cases[0]); i++) {
		const struct state_case *c = &state_cases[i];

		if (parse_fixture(c->fixture) != 0)
			fail_msg("%s: %s", c->fixture, err);
		assert_int_equal(query.ha.local_role, c->role);
		assert_int_equal(query.ha.db_state, c->db_state);
		assert_int_equal(query.ha.detail, c->detail);
		assert_int_equal(db_og_build_advice(&query.ha), c->advice);
	}
}

/* What the driver reports to db.h for each documented state (db_opengauss_fill_role). */
struct role_case {
	const char *fixture;
	bool in_recovery;
	enum db_role role;
	enum db_repl_state repl;
	bool needs_rejoin;
};

static const struct role_case role_cases[] = {
	{ "query_primary_one_sync_standby.txt", false, DB_ROLE_PRIMARY, DB_REPL_NONE, false },
	{ "query_normal.txt", false, DB_ROLE_PRIMARY, DB_REPL_NONE, false },
	{ "query_pending.txt", true, DB_ROLE_PENDING, DB_REPL_NONE, false },
	{ "query_standby_streaming.txt", true, DB_ROLE_REPLICA, DB_REPL_STREAMING, false },
	{ "query_cascade_standby.txt", true, DB_ROLE_REPLICA, DB_REPL_STREAMING, false },
	{ "query_standby_catchup.txt", true, DB_ROLE_REPLICA, DB_REPL_CONNECTING, false },
	{ "query_standby_connecting.txt", true, DB_ROLE_REPLICA, DB_REPL_CONNECTING, false },
	{ "query_standby_disconnected.txt", true, DB_ROLE_REPLICA, DB_REPL_DISCONNECTED, false },
	{ "query_standby_wal_removed.txt", true, DB_ROLE_REPLICA, DB_REPL_DISCONNECTED, true },
	{ "query_standby_system_id.txt", true, DB_ROLE_REPLICA, DB_REPL_DISCONNECTED, true },
	{ "query_standby_timeline.txt", true, DB_ROLE_REPLICA, DB_REPL_DISCONNECTED, true },
	/* §2.7: a build reason, as CM acts on it; the bare Need repair is no reason. */
	{ "query_standby_version.txt", true, DB_ROLE_REPLICA, DB_REPL_DISCONNECTED, true },
	{ "query_standby_dcf_log_loss.txt", true, DB_ROLE_REPLICA, DB_REPL_DISCONNECTED, true },
	{ "query_standby_mode.txt", true, DB_ROLE_REPLICA, DB_REPL_DISCONNECTED, false },
	{ "query_standby_need_repair_unknown.txt", true, DB_ROLE_REPLICA, DB_REPL_DISCONNECTED,
	  false },
	{ "query_standby_need_repair_connecting.txt", true, DB_ROLE_REPLICA, DB_REPL_CONNECTING,
	  false },
	{ "query_standby_building.txt", true, DB_ROLE_REPLICA, DB_REPL_DISCONNECTED, false },
	{ "query_promoting.txt", true, DB_ROLE_REPLICA, DB_REPL_DISCONNECTED, false },
	{ "query_demoting.txt", false, DB_ROLE_PRIMARY, DB_REPL_NONE, false },
	/* Primary while pg_is_in_recovery(): the failover is still under way. */
	{ "query_primary_no_standby.txt", true, DB_ROLE_STARTING, DB_REPL_NONE, false },
};

static void test_driver_role_for_every_documented_state(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(role_cases) / sizeof(role_cases[0]); i++) {
		const struct role_case *c = &role_cases[i];
		struct db_status st;

		if (parse_fixture(c->fixture) != 0)
			fail_msg("%s: %s", c->fixture, err);
		memset(&st, 0x5a, sizeof(st));
		db_opengauss_fill_role(&query.ha, c->in_recovery, &st);
		if (st.role != c->role || st.replication_state != c->repl ||
		    st.needs_rejoin != c->needs_rejoin)
			fail_msg("%s: role %s repl %s rejoin %d", c->fixture, db_role_name(st.role),
				 db_repl_state_name(st.replication_state), st.needs_rejoin);
		assert_non_null(memchr(st.detail, '\0', sizeof(st.detail)));
	}
}

static void test_driver_detail_names_state_and_reason(void **state)
{
	struct db_status st;

	(void)state;
	assert_int_equal(parse_fixture("query_standby_wal_removed.txt"), 0);
	db_opengauss_fill_role(&query.ha, true, &st);
	assert_string_equal(st.detail, "Need repair: WAL segment removed");
	assert_int_equal(parse_fixture("query_standby_streaming.txt"), 0);
	db_opengauss_fill_role(&query.ha, true, &st);
	assert_string_equal(st.detail, "");
}

static void test_channel_gives_upstream_client_port(void **state)
{
	char host[64];
	int port = 0;

	(void)state;
	assert_int_equal(db_og_parse_channel_upstream("10.0.0.2:45678<--10.0.0.1:15401", host,
						      sizeof(host), &port),
			 0);
	assert_string_equal(host, "10.0.0.1");
	assert_int_equal(port, 15400);
	assert_int_equal(db_og_parse_channel_upstream("10.0.0.1:15401-->10.0.0.2:45678", host,
						      sizeof(host), &port),
			 -EINVAL);
	assert_int_equal(db_og_parse_channel_upstream("a<--:5", host, sizeof(host), &port),
			 -EINVAL);
	assert_int_equal(db_og_parse_channel_upstream("a<--h:x", host, sizeof(host), &port),
			 -EINVAL);
	assert_int_equal(db_og_parse_channel_upstream("a<--h:70000", host, sizeof(host), &port),
			 -EINVAL);
	assert_int_equal(db_og_parse_channel_upstream(NULL, host, sizeof(host), &port), -EINVAL);
	assert_int_equal(db_og_parse_channel_upstream("a<--longhostname:5", host, 4, &port),
			 -ENAMETOOLONG);
}

static void test_query_unknown_role_with_coredump_is_rejected(void **state)
{
	(void)state;
	/* local_role "Unknown" gives the agent nothing to act on: the caller sees an error. */
	assert_int_equal(parse_fixture("query_coredump.txt"), -EINVAL);
	assert_non_null(strstr(err, "local_role"));
}

static void test_query_state_file_fallback_keeps_connection_error(void **state)
{
	(void)state;
	assert_int_equal(parse_fixture("query_fallback_state_file.txt"), 0);
	assert_int_equal(query.ha.local_role, DB_OG_ROLE_STANDBY);
	assert_true(query.ha.from_state_file);
	assert_true(query.ha.has_sync_mode);
	assert_true(query.ha.sync_mode);
	assert_int_equal(query.ha.detail, DB_OG_DETAIL_OTHER);
	assert_string_equal(query.ha.detail_text,
			    "could not connect to server: Connection refused");
	assert_int_equal(query.n_senders, 0);
	assert_false(query.has_receiver);
}

static void test_query_state_file_access_denied_is_async_primary(void **state)
{
	(void)state;
	assert_int_equal(parse_fixture("query_fallback_access_denied.txt"), 0);
	assert_int_equal(query.ha.local_role, DB_OG_ROLE_PRIMARY);
	assert_true(query.ha.from_state_file);
	assert_false(query.ha.sync_mode);
	assert_string_equal(query.ha.detail_text, "Access denied");
	assert_int_equal(query.ha.detail, DB_OG_DETAIL_OTHER);
}

static void test_query_crlf_line_ends_parse_like_lf(void **state)
{
	(void)state;
	assert_int_equal(parse_fixture("hostile_crlf.txt"), 0);
	assert_int_equal(query.ha.local_role, DB_OG_ROLE_PRIMARY);
	assert_int_equal(query.senders[0].flush_lsn, 0x5000148);
	assert_string_equal(query.senders[0].channel, "10.0.0.1:15401-->10.0.0.2:45678");
}

/* gs_ctl query: hostile input ------------------------------------------------------------- */

static void test_query_hostile_inputs_are_rejected_with_reason(void **state)
{
	static const struct {
		const char *fixture;
		int rc;
		const char *reason;
	} cases[] = {
		{ "hostile_truncated_before_ha.txt", -EINVAL, "HA state" },
		{ "hostile_bad_lsn.txt", -EINVAL, "receiver_flush_location" },
		{ "hostile_bad_percent.txt", -EINVAL, "sync_percent" },
		{ "hostile_long_line.txt", -EINVAL, "longer than" },
		{ "hostile_nine_senders.txt", -EINVAL, "more than 8 senders" },
		{ "hostile_not_gs_ctl.txt", -EINVAL, "HA state" },
		{ "hostile_empty.txt", -EINVAL, "HA state" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse_fixture(cases[i].fixture);

		if (rc != cases[i].rc)
			fail_msg("%s: rc %d, expected %d", cases[i].fixture, rc, cases[i].rc);
		if (strstr(err, cases[i].reason) == NULL)
			fail_msg("%s: reason \"%s\" lacks \"%s\"", cases[i].fixture, err,
				 cases[i].reason);
	}
}

static void test_query_truncated_mid_sender_keeps_what_arrived(void **state)
{
	(void)state;
	assert_int_equal(parse_fixture("hostile_truncated_mid_sender.txt"), 0);
	assert_int_equal(query.n_senders, 1);
	assert_int_equal(query.senders[0].sent_lsn, 0x5000148);
	/* The cut row and everything after it never arrived: still the cleared defaults. */
	assert_int_equal(query.senders[0].write_lsn, 0);
	assert_int_equal(query.senders[0].sync_state, DB_OG_SYNC_UNKNOWN);
	assert_int_equal(query.senders[0].sync_percent, -1);
}

static void test_query_failure_leaves_output_untouched(void **state)
{
	struct db_og_query before;
	size_t n;

	(void)state;
	n = load("hostile_bad_lsn.txt");
	memset(&query, 0x5a, sizeof(query));
	before = query;
	assert_int_equal(db_og_parse_query(fixture_text, n, &query, err, sizeof(err)), -EINVAL);
	assert_memory_equal(&before, &query, sizeof(query));
}

static void test_query_oversized_output_is_refused(void **state)
{
	static char big[DB_OG_QUERY_TEXT_MAX + 2];

	(void)state;
	memset(big, ' ', sizeof(big));
	assert_int_equal(db_og_parse_query(big, sizeof(big), &query, err, sizeof(err)), -E2BIG);
}

static void test_query_embedded_nul_is_refused(void **state)
{
	static const char text[] = " HA state:\n\tlocal_role : Primary\0junk\n";

	(void)state;
	assert_int_equal(db_og_parse_query(text, sizeof(text) - 1, &query, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "NUL"));
}

static void test_query_null_text_is_rejected(void **state)
{
	(void)state;
	assert_int_equal(db_og_parse_query(NULL, 10, &query, NULL, 0), -EINVAL);
}

/* pg_stat_get_stream_replications() rows (SQL 1) ------------------------------------------ */

static void test_stream_row_every_role_db_state_and_detail_maps(void **state)
{
	static const char *const roles[] = { "Normal",		"Primary",	"Standby",
					     "Cascade Standby", "Main Standby", "Pending",
					     "Unknown" };
	static const enum db_og_role role_values[] = {
		DB_OG_ROLE_NORMAL,	    DB_OG_ROLE_PRIMARY,	     DB_OG_ROLE_STANDBY,
		DB_OG_ROLE_CASCADE_STANDBY, DB_OG_ROLE_MAIN_STANDBY, DB_OG_ROLE_PENDING,
		DB_OG_ROLE_UNKNOWN
	};
	static const char *const db_states[] = { "Normal",    "Unknown",	"Need repair",
						 "Starting",  "Wait promoting", "Demoting",
						 "Promoting", "Building",	"Catchup",
						 "Coredump" };
	static const enum db_og_db_state db_state_values[] = {
		DB_OG_DB_STATE_NORMAL,	  DB_OG_DB_STATE_UNKNOWN,	 DB_OG_DB_STATE_NEED_REPAIR,
		DB_OG_DB_STATE_STARTING,  DB_OG_DB_STATE_WAIT_PROMOTING, DB_OG_DB_STATE_DEMOTING,
		DB_OG_DB_STATE_PROMOTING, DB_OG_DB_STATE_BUILDING,	 DB_OG_DB_STATE_CATCHUP,
		DB_OG_DB_STATE_COREDUMP
	};
	static const char *const details[] = { "Normal",
					       "Connecting...",
					       "Disconnected",
					       "WAL segment removed",
					       "Version not matched",
					       "Mode not matched",
					       "System id not matched",
					       "Timeline not matched",
					       "DCF log loss",
					       "Unknown" };
	static const enum db_og_detail detail_values[] = {
		DB_OG_DETAIL_NORMAL,
		DB_OG_DETAIL_CONNECTING,
		DB_OG_DETAIL_DISCONNECTED,
		DB_OG_DETAIL_WAL_REMOVED,
		DB_OG_DETAIL_VERSION_NOT_MATCHED,
		DB_OG_DETAIL_MODE_NOT_MATCHED,
		DB_OG_DETAIL_SYSID_NOT_MATCHED,
		DB_OG_DETAIL_TIMELINE_NOT_MATCHED,
		DB_OG_DETAIL_DCF_LOG_LOSS,
		DB_OG_DETAIL_UNKNOWN,
	};
	struct db_og_ha_state ha;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		assert_int_equal(db_og_ha_state_from_row(roles[i], "2", "Normal", "Normal", &ha,
							 err, sizeof(err)),
				 0);
		assert_int_equal(ha.local_role, role_values[i]);
		assert_string_equal(db_og_role_name(ha.local_role), roles[i]);
	}
	for (i = 0; i < sizeof(db_states) / sizeof(db_states[0]); i++) {
		assert_int_equal(db_og_ha_state_from_row("Standby", "1", db_states[i], "Normal",
							 &ha, err, sizeof(err)),
				 0);
		assert_int_equal(ha.db_state, db_state_values[i]);
		assert_string_equal(db_og_db_state_name(ha.db_state), db_states[i]);
	}
	for (i = 0; i < sizeof(details) / sizeof(details[0]); i++) {
		assert_int_equal(db_og_ha_state_from_row("Standby", "1", "Normal", details[i], &ha,
							 err, sizeof(err)),
				 0);
		assert_int_equal(ha.detail, detail_values[i]);
		assert_string_equal(ha.detail_text, details[i]);
	}
}

static void test_stream_row_missing_role_or_bad_count_is_rejected(void **state)
{
	struct db_og_ha_state ha = { .static_connections = 77 };

	(void)state;
	assert_int_equal(
		db_og_ha_state_from_row(NULL, "1", "Normal", "Normal", &ha, err, sizeof(err)),
		-EINVAL);
	assert_int_equal(
		db_og_ha_state_from_row("Primary", "1", NULL, "Normal", &ha, err, sizeof(err)),
		-EINVAL);
	assert_int_equal(
		db_og_ha_state_from_row("Primary", "-1", "Normal", "Normal", &ha, err, sizeof(err)),
		-EINVAL);
	assert_int_equal(db_og_ha_state_from_row("Primary", "one", "Normal", "Normal", &ha, err,
						 sizeof(err)),
			 -EINVAL);
	assert_int_equal(ha.static_connections, 77);
}

static void test_stream_row_null_optional_columns_read_as_absent(void **state)
{
	struct db_og_ha_state ha;

	(void)state;
	assert_int_equal(
		db_og_ha_state_from_row("Pending", NULL, "Starting", NULL, &ha, err, sizeof(err)),
		0);
	assert_int_equal(ha.static_connections, -1);
	assert_int_equal(ha.detail, DB_OG_DETAIL_UNKNOWN);
}

static void test_stream_row_unlisted_detail_is_other_and_kept(void **state)
{
	struct db_og_ha_state ha;

	(void)state;
	assert_int_equal(db_og_ha_state_from_row("Standby", "1", "Normal", "Some new reason", &ha,
						 err, sizeof(err)),
			 0);
	assert_int_equal(ha.detail, DB_OG_DETAIL_OTHER);
	assert_string_equal(ha.detail_text, "Some new reason");
	/* "other" is our own label; the server never sends it, so it never matches. */
	assert_int_equal(db_og_detail_parse("other"), DB_OG_DETAIL_OTHER);
}

/* SQL 2 walsender rows: every state and sync state, set by column name. */
static void test_sender_columns_map_every_state_and_sync_state(void **state)
{
	static const char *const states[] = { "Startup", "Backup", "Catchup", "Streaming" };
	static const char *const syncs[] = { "Async", "Sync", "Quorum", "Potential" };
	struct db_og_sender s;
	size_t i;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (i = 0; i < 4; i++) {
		assert_int_equal(db_og_sender_set(&s, "state", states[i], err, sizeof(err)), 0);
		assert_int_equal(s.state, (enum db_og_sender_state)(DB_OG_SENDER_STARTUP + i));
		assert_string_equal(db_og_sender_state_name(s.state), states[i]);
		assert_int_equal(db_og_sender_set(&s, "sync_state", syncs[i], err, sizeof(err)), 0);
		assert_int_equal(s.sync_state, (enum db_og_sync_state)(DB_OG_SYNC_ASYNC + i));
		assert_string_equal(db_og_sync_state_name(s.sync_state), syncs[i]);
	}
	assert_int_equal(
		db_og_sender_set(&s, "peer_role", "StandbyCluster_Standby", err, sizeof(err)), 0);
	assert_string_equal(s.peer_role, "StandbyCluster_Standby");
	assert_int_equal(db_og_sender_set(&s, "catchup_start", "2024-05-11", err, sizeof(err)), 0);
	assert_int_equal(db_og_sender_set(&s, "receiver_flush_location", NULL, err, sizeof(err)),
			 0);
	assert_int_equal(s.flush_lsn, 0);
	assert_int_equal(db_og_sender_set(&s, "sync_priority", "x", err, sizeof(err)), -EINVAL);
	assert_int_equal(db_og_sender_set(&s, "sender_pid", "-3", err, sizeof(err)), -EINVAL);
	assert_int_equal(db_og_sender_set(&s, "sync_percent", "%", err, sizeof(err)), -EINVAL);
}

static void test_receiver_columns_parse_locations(void **state)
{
	struct db_og_receiver r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(
		db_og_receiver_set(&r, "receiver_received_location", "1/A0", err, sizeof(err)), 0);
	assert_int_equal(r.received_lsn, 0x1000000A0ULL);
	assert_int_equal(
		db_og_receiver_set(&r, "receiver_replay_location", "1/Z0", err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "receiver_replay_location"));
}

/* Locations and the (term, lsn) record ----------------------------------------------------- */

static void test_lsn_text_parses_both_halves(void **state)
{
	uint64_t lsn = 0;
	char text[LSN_TEXT_MAX];

	(void)state;
	/* openGauss prints text locations as PostgreSQL does: the ground floor's parser reads them. */
	assert_int_equal(lsn_parse("0/0", &lsn), 0);
	assert_int_equal(lsn, 0);
	assert_int_equal(lsn_parse("0/5000148", &lsn), 0);
	assert_int_equal(lsn, 0x5000148);
	assert_int_equal(lsn_parse("1A/ff", &lsn), 0);
	assert_int_equal(lsn, 0x1A000000FFULL);
	assert_int_equal(lsn_parse("FFFFFFFF/FFFFFFFF", &lsn), 0);
	assert_int_equal(lsn, UINT64_MAX);
	lsn_format(0x1A000000FFULL, text);
	assert_string_equal(text, "1A/FF");
}

static void test_lsn_malformed_text_is_rejected_and_output_kept(void **state)
{
	static const char *const bad[] = {
		"",	"/",	      "0/",   "/0",    "0",	"0//1",	       "-1/0",
		"0/-1", " 0/1",	      "0/1 ", "0x1/1", "1/1/1", "100000000/0", "0/100000000",
		"g/0",	"0/5000148\n"
	};
	uint64_t lsn = 42;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (lsn_parse(bad[i], &lsn) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(lsn_parse(NULL, &lsn), -EINVAL);
	assert_int_equal(lsn, 42);
}

static void test_term_lsn_fields_parse_like_cm_query(void **state)
{
	struct db_og_term_lsn tl;

	(void)state;
	assert_int_equal(db_og_parse_term_lsn_fields("3", "0/7000060", &tl, err, sizeof(err)), 0);
	assert_int_equal(tl.term, 3);
	assert_int_equal(tl.lsn, 0x7000060);
	/* While recovery is unfinished the server answers term 0 with "0/0" (§2.7). */
	assert_int_equal(db_og_parse_term_lsn_fields("0", "0/0", &tl, err, sizeof(err)), 0);
	assert_int_equal(tl.term, 0);
	assert_int_equal(tl.lsn, 0);
	assert_int_equal(db_og_parse_term_lsn_fields("4294967296", "0/0", &tl, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(db_og_parse_term_lsn_fields(NULL, "0/0", &tl, err, sizeof(err)), -EINVAL);
	assert_int_equal(db_og_parse_term_lsn_fields("1", NULL, &tl, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "lsn"));
}

static void test_term_lsn_record_text_strips_parentheses(void **state)
{
	struct db_og_term_lsn tl = { 0, 0 };

	(void)state;
	assert_int_equal(db_og_parse_term_lsn_record("(2,0/3000148)", &tl, err, sizeof(err)), 0);
	assert_int_equal(tl.term, 2);
	assert_int_equal(tl.lsn, 0x3000148);
	assert_int_equal(db_og_parse_term_lsn_record(" (1,A/0)\n", &tl, err, sizeof(err)), 0);
	assert_int_equal(tl.lsn, 0xA00000000ULL);
}

static void test_term_lsn_record_malformed_is_rejected(void **state)
{
	static const char *const bad[] = {
		"",
		"()",
		"(1)",
		"1,0/0",
		"(1,0/0",
		"1,0/0)",
		"(1,0/0,2)",
		"(x,0/0)",
		"(1,0-0)",
		"(-1,0/0)",
		"(,0/0)",
		"(1,)",
		"(11111111111111111111111111111111111111111111111111111,0/0)"
	};
	struct db_og_term_lsn tl = { 9, 9 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (db_og_parse_term_lsn_record(bad[i], &tl, err, sizeof(err)) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(db_og_parse_term_lsn_record(NULL, &tl, NULL, 0), -EINVAL);
	assert_int_equal(tl.term, 9);
	assert_int_equal(tl.lsn, 9);
}

static void test_term_lsn_order_is_term_first_then_lsn(void **state)
{
	struct db_og_term_lsn a = { 2, 0x100 }, b = { 3, 0x10 }, c = { 3, 0x20 };

	(void)state;
	assert_true(db_og_term_lsn_cmp(&a, &b) < 0); /* higher term wins despite lower lsn */
	assert_true(db_og_term_lsn_cmp(&c, &b) > 0);
	assert_int_equal(db_og_term_lsn_cmp(&c, &c), 0);
}

/* replconninfo ----------------------------------------------------------------------------- */

static struct db_og_node nodes[DB_OG_MEMBERS_MAX + 1];

static int make_nodes(int n)
{
	int i;

	memset(nodes, 0, sizeof(nodes));
	for (i = 0; i < n; i++) {
		assert_int_equal(
			buf_format(nodes[i].host, sizeof(nodes[i].host), "10.0.0.%d", i + 1), 0);
		nodes[i].port = 5432 + 100 * i;
	}
	return n;
}

static void test_replconninfo_lists_every_other_member_with_port_offsets(void **state)
{
	struct db_og_replconninfo r;

	(void)state;
	make_nodes(3);
	assert_int_equal(db_og_render_replconninfo(nodes, 3, 1, &r, err, sizeof(err)), 0);
	assert_int_equal(r.count, 2);
	assert_string_equal(r.entry[0], "localhost=10.0.0.2 localport=5533 localheartbeatport=5537 "
					"localservice=5536 remotehost=10.0.0.1 remoteport=5433 "
					"remoteheartbeatport=5437 remoteservice=5436");
	assert_string_equal(r.entry[1], "localhost=10.0.0.2 localport=5533 localheartbeatport=5537 "
					"localservice=5536 remotehost=10.0.0.3 remoteport=5633 "
					"remoteheartbeatport=5637 remoteservice=5636");
	assert_string_equal(r.entry[2], "");
}

static void test_replconninfo_eight_peers_fit_nine_do_not(void **state)
{
	struct db_og_replconninfo r;

	(void)state;
	make_nodes(9);
	assert_int_equal(db_og_render_replconninfo(nodes, 9, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(r.count, 8);
	assert_non_null(strstr(r.entry[7], "remotehost=10.0.0.9 "));
	make_nodes(10);
	assert_int_equal(db_og_render_replconninfo(nodes, 10, 0, &r, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "8 replconninfo"));
}

static void test_replconninfo_single_member_has_no_entries(void **state)
{
	struct db_og_replconninfo r;

	(void)state;
	make_nodes(1);
	assert_int_equal(db_og_render_replconninfo(nodes, 1, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(r.count, 0);
}

static void test_replconninfo_bad_members_are_rejected(void **state)
{
	struct db_og_replconninfo r;

	(void)state;
	make_nodes(2);
	assert_int_equal(db_og_render_replconninfo(nodes, 2, 2, &r, err, sizeof(err)), -EINVAL);
	assert_int_equal(db_og_render_replconninfo(nodes, 2, -1, &r, err, sizeof(err)), -EINVAL);
	nodes[1].port = 65531; /* + 5 would not be a port */
	assert_int_equal(db_og_render_replconninfo(nodes, 2, 0, &r, err, sizeof(err)), -EINVAL);
	make_nodes(2);
	assert_int_equal(buf_copy(nodes[1].host, sizeof(nodes[1].host), "10.0.0.2 remoteport=1"),
			 0);
	assert_int_equal(db_og_render_replconninfo(nodes, 2, 0, &r, err, sizeof(err)), -EINVAL);
	make_nodes(2);
	nodes[1].host[0] = '\0';
	assert_int_equal(db_og_render_replconninfo(nodes, 2, 0, &r, err, sizeof(err)), -EINVAL);
	make_nodes(2);
	nodes[1] = nodes[0];
	assert_int_equal(db_og_render_replconninfo(nodes, 2, 0, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "same address"));
	make_nodes(2);
	memset(nodes[1].host, 'a', sizeof(nodes[1].host)); /* no terminating NUL */
	assert_int_equal(db_og_render_replconninfo(nodes, 2, 0, &r, err, sizeof(err)), -EINVAL);
}

/* Synchronous settings --------------------------------------------------------------------- */

static void test_sync_settings_async_clears_the_star_default(void **state)
{
	struct db_og_sync_policy p = { .enabled = false };
	struct db_og_setting s[3];

	(void)state;
	assert_int_equal(db_og_sync_settings(&p, s, err, sizeof(err)), 0);
	assert_string_equal(s[0].name, "synchronous_standby_names");
	assert_string_equal(s[0].value, "");
	assert_string_equal(s[1].name, "synchronous_commit");
	assert_string_equal(s[1].value, "on");
	assert_string_equal(s[2].name, "most_available_sync");
	/* §2.9: kept off in every mode; the agent degrades, /sync first. */
	assert_string_equal(s[2].value, "off");
}

static void test_sync_settings_named_non_strict_uses_first_n_without_most_available(void **state)
{
	struct db_og_sync_policy p = {
		.enabled = true, .strict = false, .num_sync = 1, .n_names = 2
	};
	struct db_og_setting s[3];

	(void)state;
	assert_int_equal(buf_copy(p.names[0], sizeof(p.names[0]), "node2"), 0);
	assert_int_equal(buf_copy(p.names[1], sizeof(p.names[1]), "node3"), 0);
	assert_int_equal(db_og_sync_settings(&p, s, err, sizeof(err)), 0);
	assert_string_equal(s[0].value, "FIRST 1 (node2,node3)");
	assert_string_equal(s[2].value, "off");
}

static void test_sync_settings_strict_turns_most_available_off(void **state)
{
	struct db_og_sync_policy p = { .enabled = true, .strict = true, .num_sync = 1 };
	struct db_og_setting s[3];

	(void)state;
	assert_int_equal(db_og_sync_settings(&p, s, err, sizeof(err)), 0);
	assert_string_equal(s[0].value, "FIRST 1 (*)");
	assert_string_equal(s[2].value, "off");
}

static void test_sync_settings_quorum_uses_any(void **state)
{
	struct db_og_sync_policy p = {
		.enabled = true, .quorum = true, .num_sync = 2, .n_names = 3
	};
	struct db_og_setting s[3];

	(void)state;
	assert_int_equal(buf_copy(p.names[0], sizeof(p.names[0]), "a"), 0);
	assert_int_equal(buf_copy(p.names[1], sizeof(p.names[1]), "b"), 0);
	assert_int_equal(buf_copy(p.names[2], sizeof(p.names[2]), "c"), 0);
	assert_int_equal(db_og_sync_settings(&p, s, err, sizeof(err)), 0);
	assert_string_equal(s[0].value, "ANY 2 (a,b,c)");
}

static void test_setting_differs_compares_units_booleans_and_text(void **state)
{
	(void)state;
	/* pg_settings reports shared_buffers in 8kB pages, max_connections bare. */
	assert_false(db_og_setting_differs("16MB", "2048", "8kB"));
	assert_true(db_og_setting_differs("32MB", "2048", "8kB"));
	assert_false(db_og_setting_differs("2048", "2048", "8kB"));
	assert_false(db_og_setting_differs("30", "30", ""));
	assert_true(db_og_setting_differs("40", "30", ""));
	assert_true(db_og_setting_differs("40", "30", NULL));
	assert_false(db_og_setting_differs("1min", "60", "s"));
	assert_false(db_og_setting_differs("1000ms", "1", "s"));
	assert_false(db_og_setting_differs("on", "true", ""));
	assert_true(db_og_setting_differs("off", "on", ""));
	assert_false(db_og_setting_differs("Replica", "replica", ""));
	assert_true(db_og_setting_differs("logical", "replica", ""));
	assert_true(db_og_setting_differs("16XB", "2048", "8kB"));
	assert_false(db_og_setting_differs(NULL, "1", ""));
}

static void test_sync_settings_bad_policy_is_rejected(void **state)
{
	struct db_og_sync_policy p = { .enabled = true, .num_sync = 0 };
	struct db_og_setting s[3];

	(void)state;
	assert_int_equal(db_og_sync_settings(&p, s, err, sizeof(err)), -EINVAL);
	p.num_sync = 3;
	p.n_names = 2;
	assert_int_equal(buf_copy(p.names[0], sizeof(p.names[0]), "a"), 0);
	assert_int_equal(buf_copy(p.names[1], sizeof(p.names[1]), "b"), 0);
	assert_int_equal(db_og_sync_settings(&p, s, err, sizeof(err)), -EINVAL);
	p.num_sync = 1;
	assert_int_equal(buf_copy(p.names[1], sizeof(p.names[1]), "b'); drop"), 0);
	assert_int_equal(db_og_sync_settings(&p, s, err, sizeof(err)), -EINVAL);
	p.n_names = DB_OG_MEMBERS_MAX + 1;
	assert_int_equal(db_og_sync_settings(&p, s, err, sizeof(err)), -EINVAL);
}

/* Command lines ----------------------------------------------------------------------------- */

static struct db_og_argv argv_out;

/* Joins an argv with single spaces for comparison. */
static const char *joined(const struct db_og_argv *a)
{
	static char line[8192];
	struct buf b;
	int i;

	buf_init_fixed(&b, line, sizeof(line));
	for (i = 0; i < a->argc; i++)
		assert_int_equal(buf_printf(&b, "%s%s", i ? " " : "", a->arg[i]), 0);
	return line;
}

static void test_guc_argv_quotes_values_and_reloads(void **state)
{
	struct db_og_setting s[2];
	const char *ptrs[DB_OG_ARGV_MAX + 1];

	(void)state;
	assert_int_equal(buf_copy(s[0].name, sizeof(s[0].name), "replconninfo1"), 0);
	assert_int_equal(buf_copy(s[0].value, sizeof(s[0].value), "localhost=a localport=2"), 0);
	assert_int_equal(buf_copy(s[1].name, sizeof(s[1].name), "synchronous_standby_names"), 0);
	assert_int_equal(buf_copy(s[1].value, sizeof(s[1].value), ""), 0);
	assert_int_equal(db_og_guc_argv(&argv_out, "gs_guc", "/d", true, s, 2, err, sizeof(err)),
			 0);
	assert_int_equal(argv_out.argc, 8);
	assert_string_equal(argv_out.arg[5], "replconninfo1 = 'localhost=a localport=2'");
	assert_string_equal(argv_out.arg[7], "synchronous_standby_names = ''");
	assert_string_equal(joined(&argv_out), "gs_guc reload -D /d -c replconninfo1 = "
					       "'localhost=a localport=2' -c "
					       "synchronous_standby_names = ''");
	db_og_argv_ptrs(&argv_out, ptrs);
	assert_string_equal(ptrs[1], "reload");
	assert_null(ptrs[8]);
	assert_int_equal(db_og_guc_argv(&argv_out, "gs_guc", "/d", false, s, 1, err, sizeof(err)),
			 0);
	assert_string_equal(argv_out.arg[1], "set");
}

static void test_guc_argv_refuses_quotes_and_bad_names(void **state)
{
	struct db_og_setting s[DB_OG_SETTINGS_MAX + 1];

	(void)state;
	memset(s, 0, sizeof(s));
	assert_int_equal(buf_copy(s[0].name, sizeof(s[0].name), "port"), 0);
	assert_int_equal(buf_copy(s[0].value, sizeof(s[0].value), "5432' -c 'x"), 0);
	assert_int_equal(db_og_guc_argv(&argv_out, "gs_guc", "/d", true, s, 1, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(buf_copy(s[0].value, sizeof(s[0].value), "a\nb"), 0);
	assert_int_equal(db_og_guc_argv(&argv_out, "gs_guc", "/d", true, s, 1, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(buf_copy(s[0].name, sizeof(s[0].name), "Port = 1"), 0);
	assert_int_equal(buf_copy(s[0].value, sizeof(s[0].value), "1"), 0);
	assert_int_equal(db_og_guc_argv(&argv_out, "gs_guc", "/d", true, s, 1, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(db_og_guc_argv(&argv_out, "gs_guc", "/d", true, s, 0, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(db_og_guc_argv(&argv_out, "gs_guc", "/d", true, s, DB_OG_SETTINGS_MAX + 1,
					err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(db_og_guc_argv(&argv_out, "gs_guc", "", true, s, 1, err, sizeof(err)),
			 -EINVAL);
}

static void test_guc_argv_holds_the_maximum_settings(void **state)
{
	struct db_og_setting s[DB_OG_SETTINGS_MAX];
	int i;

	(void)state;
	for (i = 0; i < DB_OG_SETTINGS_MAX; i++) {
		assert_int_equal(buf_format(s[i].name, sizeof(s[i].name), "replconninfo%d", i + 1),
				 0);
		assert_int_equal(buf_copy(s[i].value, sizeof(s[i].value), ""), 0);
	}
	assert_int_equal(db_og_guc_argv(&argv_out, "gs_guc", "/d", true, s, DB_OG_SETTINGS_MAX, err,
					sizeof(err)),
			 0);
	assert_int_equal(argv_out.argc, DB_OG_ARGV_MAX);
}

static void test_ctl_argv_for_every_command_the_agent_runs(void **state)
{
	(void)state;
	assert_int_equal(db_og_ctl_start(&argv_out, "gs_ctl", "/d", "pending", 60, NULL, "/l"), 0);
	assert_string_equal(joined(&argv_out), "gs_ctl start -D /d -M pending -w -t 60 -l /l");
	assert_int_equal(db_og_ctl_start(&argv_out, "gs_ctl", "/d", "standby", 5, "-p 5433", NULL),
			 0);
	assert_string_equal(joined(&argv_out), "gs_ctl start -D /d -M standby -w -t 5 -o -p 5433");
	assert_int_equal(db_og_ctl_notify(&argv_out, "gs_ctl", "/d", true, 7, 10), 0);
	assert_string_equal(joined(&argv_out), "gs_ctl notify -D /d -M primary -T 7 -w -t 10");
	assert_int_equal(db_og_ctl_notify(&argv_out, "gs_ctl", "/d", false, 0, 10), 0);
	assert_string_equal(joined(&argv_out), "gs_ctl notify -D /d -M standby -w -t 10");
	assert_int_equal(db_og_ctl_failover(&argv_out, "gs_ctl", "/d", 4, 30), 0);
	assert_string_equal(joined(&argv_out), "gs_ctl failover -D /d -T 4 -w -t 30");
	assert_int_equal(db_og_ctl_switchover(&argv_out, "gs_ctl", "/d", 5, 30), 0);
	assert_string_equal(joined(&argv_out), "gs_ctl switchover -D /d -m fast -T 5 -w -t 30");
	assert_int_equal(db_og_ctl_build(&argv_out, "gs_ctl", "/d", DB_OG_BUILD_FULL, 0, 60), 0);
	assert_string_equal(joined(&argv_out), "gs_ctl build -D /d -b full -M standby -r 60");
	assert_int_equal(db_og_ctl_build(&argv_out, "gs_ctl", "/d", DB_OG_BUILD_INCREMENTAL, 3, 60),
			 0);
	assert_string_equal(joined(&argv_out),
			    "gs_ctl build -D /d -b incremental -M standby -r 60 -T 3");
	assert_int_equal(db_og_ctl_build(&argv_out, "gs_ctl", "/d", DB_OG_BUILD_AUTO, 0, 60), 0);
	assert_string_equal(joined(&argv_out), "gs_ctl build -D /d -b auto -M standby -r 60");
	assert_int_equal(db_og_ctl_stop(&argv_out, "gs_ctl", "/d", DB_OG_STOP_FAST, 60), 0);
	assert_string_equal(joined(&argv_out), "gs_ctl stop -D /d -m fast -w -t 60");
	assert_int_equal(db_og_ctl_stop(&argv_out, "gs_ctl", "/d", DB_OG_STOP_IMMEDIATE, 60), 0);
	assert_string_equal(joined(&argv_out), "gs_ctl stop -D /d -m immediate -w -t 60");
	assert_int_equal(db_og_ctl_restart(&argv_out, "gs_ctl", "/d", "standby",
					   DB_OG_STOP_IMMEDIATE, 60, NULL, NULL),
			 0);
	assert_string_equal(joined(&argv_out),
			    "gs_ctl restart -D /d -M standby -m immediate -w -t 60");
	assert_int_equal(db_og_ctl_query(&argv_out, "gs_ctl", "/d"), 0);
	assert_string_equal(joined(&argv_out), "gs_ctl query -D /d");
}

static void test_ctl_argv_refuses_unsafe_requests(void **state)
{
	(void)state;
	/* No -T on a primary notify, failover or switchover would lose term fencing (§2.8). */
	assert_int_equal(db_og_ctl_notify(&argv_out, "gs_ctl", "/d", true, 0, 10), -EINVAL);
	assert_int_equal(db_og_ctl_failover(&argv_out, "gs_ctl", "/d", 0, 10), -EINVAL);
	assert_int_equal(db_og_ctl_switchover(&argv_out, "gs_ctl", "/d", 0, 10), -EINVAL);
	/* There is no smart shutdown (§2.3) and no mode outside the -M list (§2.2). */
	assert_int_equal(db_og_ctl_stop(&argv_out, "gs_ctl", "/d", DB_OG_STOP_COUNT, 10), -EINVAL);
	assert_int_equal(db_og_ctl_start(&argv_out, "gs_ctl", "/d", "normal", 10, NULL, NULL),
			 -EINVAL);
	assert_int_equal(db_og_ctl_start(&argv_out, "gs_ctl", "/d", NULL, 10, NULL, NULL), -EINVAL);
	assert_int_equal(db_og_ctl_start(&argv_out, "gs_ctl", "/d", "pending", 0, NULL, NULL),
			 -EINVAL);
	assert_int_equal(db_og_ctl_start(&argv_out, "gs_ctl", "", "pending", 5, NULL, NULL),
			 -EINVAL);
	assert_int_equal(db_og_ctl_build(&argv_out, "gs_ctl", "/d", DB_OG_BUILD_COUNT, 0, 5),
			 -EINVAL);
	assert_int_equal(db_og_ctl_build(&argv_out, "gs_ctl", "/d", DB_OG_BUILD_FULL, 0, 0),
			 -EINVAL);
}

static void test_ctl_argv_overlong_path_is_an_error(void **state)
{
	static char path[DB_OG_ARG_MAX + 10];

	(void)state;
	memset(path, 'p', sizeof(path) - 1);
	assert_int_equal(db_og_ctl_query(&argv_out, "gs_ctl", path), -ENAMETOOLONG);
}

static void test_enum_names_cover_every_value(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < DB_OG_ROLE_COUNT; i++)
		assert_string_not_equal(db_og_role_name((enum db_og_role)i), "?");
	for (i = 0; i < DB_OG_DB_STATE_COUNT; i++)
		assert_string_not_equal(db_og_db_state_name((enum db_og_db_state)i), "?");
	for (i = 0; i < DB_OG_DETAIL_COUNT; i++)
		assert_string_not_equal(db_og_detail_name((enum db_og_detail)i), "?");
	for (i = 0; i < DB_OG_ADVICE_COUNT; i++)
		assert_string_not_equal(db_og_build_advice_name((enum db_og_build_advice)i), "?");
	assert_string_equal(db_og_stop_mode_name(DB_OG_STOP_IMMEDIATE), "immediate");
	assert_string_equal(db_og_build_mode_name(DB_OG_BUILD_INCREMENTAL), "incremental");
	assert_string_equal(db_og_role_name(DB_OG_ROLE_COUNT), "?");
}

/* db_set_peers: the member list for replconninfo ---------------------------------------- */

/* Options of an openGauss node whose data directory does not exist. */
static void og_options(struct db_options *o)
{
	memset(o, 0, sizeof(*o));
	o->engine = DB_ENGINE_OPENGAUSS;
	snprintf(o->name, sizeof(o->name), "og_1");
	snprintf(o->data_dir, sizeof(o->data_dir), "/nonexistent/gsha-og-data");
	o->listen_port = 5432;
	snprintf(o->superuser.username, sizeof(o->superuser.username), "omm");
}

static void test_set_peers_takes_at_most_nine_valid_members(void **state)
{
	struct db_options o;
	struct db *db = NULL;
	struct db_peer peers[DB_PEERS_MAX + 1];

	(void)state;
	og_options(&o);
	assert_int_equal(db_new(&o, &db, err, sizeof(err)), 0);
	memset(peers, 0, sizeof(peers));
	for (int i = 0; i <= DB_PEERS_MAX; i++) {
		snprintf(peers[i].name, sizeof(peers[i].name), "og-%d", i + 1);
		snprintf(peers[i].host, sizeof(peers[i].host), "10.0.0.%d", i + 1);
		peers[i].port = 5432;
	}
	/* The server is down: the list is kept for the next start, nothing runs now. */
	assert_int_equal(db_set_peers(db, peers, DB_PEERS_MAX, 1000, err, sizeof(err)), 0);
	assert_int_equal(db_set_peers(db, peers, DB_PEERS_MAX + 1, 1000, err, sizeof(err)), -E2BIG);
	peers[2].host[0] = '\0';
	assert_int_equal(db_set_peers(db, peers, 3, 1000, err, sizeof(err)), -EINVAL);
	db_free(db);
}

/* §2.8: terms are 1..2147483647; the driver keeps the highest it was given or saw. */
static void test_term_limits_and_kept_term(void **state)
{
	struct db_options o;
	struct db *db = NULL;

	(void)state;
	assert_int_equal(db_og_check_term(1, err, sizeof(err)), 0);
	assert_int_equal(db_og_check_term(2147483647u, err, sizeof(err)), 0);
	assert_int_equal(db_og_check_term(2147483648u, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "2147483647"));
	assert_int_equal(db_og_check_term(0, err, sizeof(err)), -EINVAL);
	og_options(&o);
	assert_int_equal(db_new(&o, &db, err, sizeof(err)), 0);
	assert_int_equal(db_og_note_term(db, 0), 0);
	assert_int_equal(db_set_term(db, 2147483648u, err, sizeof(err)), -EINVAL);
	assert_int_equal(db_set_term(db, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(db_set_term(db, 7, err, sizeof(err)), 0);
	assert_int_equal(db_og_note_term(db, 3), 7); /* a lower term never lowers it */
	assert_int_equal(db_og_note_term(db, 9), 9);
	db_free(db);
}

/* Issue 11: a stale postmaster.pid whose pid another process took since (here a shell outside
 * the data directory, which SIGHUP would end) is not signalled by a reload. Before, the driver
 * checked only that the pid lived, and sent it SIGHUP. */
static void test_reload_leaves_a_recycled_pid_alone(void **state)
{
	char dir[] = "/tmp/gsha-test-og-stale.XXXXXX", path[DB_PATH_MAX + 32];
	struct db_options o;
	struct db *db = NULL;
	int status;
	FILE *f;
	pid_t other;

	(void)state;
	assert_non_null(mkdtemp(dir));
	og_options(&o);
	snprintf(o.data_dir, sizeof(o.data_dir), "%s", dir);
	assert_int_equal(db_new(&o, &db, err, sizeof(err)), 0);
	other = fork();
	assert_true(other >= 0);
	if (other == 0) {
		int fd = open("/dev/null", O_RDWR); /* meson waits for the test's output to close */

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || chdir("/") != 0)
			_exit(1);
		execlp("sh", "sh", "-c", "sleep 60; :", (char *)NULL);
		_exit(1);
	}
	usleep(100 * 1000);
	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%d\n%s\n%lld\n5432\n/tmp\n*\n  5432001         0\nready   \n", (int)other, dir,
		(long long)time(NULL));
	fclose(f);
	assert_int_equal(db_reload(db, 1000, err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "recycled"));
	usleep(100 * 1000);
	assert_int_equal(waitpid(other, &status, WNOHANG), 0); /* not ended by a SIGHUP */
	kill(other, SIGKILL);
	assert_int_equal(waitpid(other, &status, 0), other);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	db_free(db);
	unlink(path);
	rmdir(dir);
}

/* §2.5: gs_ctl build carries -T <term>. */
static void test_build_passes_the_term(void **state)
{
	struct db_og_argv a;
	char line[1024] = "";
	size_t used = 0;

	(void)state;
	assert_int_equal(db_og_ctl_build(&a, "gs_ctl", "/d", DB_OG_BUILD_INCREMENTAL, 5, 60), 0);
	for (int i = 0; i < a.argc; i++)
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%s ", a.arg[i]);
	assert_string_equal(line, "gs_ctl build -D /d -b incremental -M standby -r 60 -T 5 ");
}

/* §2.1: what gs_initdb refuses is refused when the options are checked (db_new). */
static void test_initdb_input_rules(void **state)
{
	static const char *const good_names[] = {
		"n1", "node_1", "_x", "a#$9",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"
	};
	static const char *const bad_names[] = {
		"",
		"node-1",
		"Node1",
		"1node",
		"n.1",
		"n 1",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm"
	};
	struct db_options o;
	struct db *db = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(good_names) / sizeof(good_names[0]); i++)
		assert_int_equal(db_og_check_node_name(good_names[i], err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		assert_int_equal(db_og_check_node_name(bad_names[i], err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "[a-z_][a-z0-9_#$]*"));
	}
	assert_int_equal(db_og_check_password("omm", "Gauss@123", err, sizeof(err)), 0);
	assert_int_equal(db_og_check_password("omm", "gauss1234X", err, sizeof(err)), 0);
	assert_int_equal(db_og_check_password("omm", "a\\|[{}];:", err, sizeof(err)), -EINVAL);
	assert_int_equal(db_og_check_password("omm", "Ab1~", err, sizeof(err)), -EINVAL);
	assert_int_equal(db_og_check_password("omm", "abcdefgh1", err, sizeof(err)), -EINVAL);
	assert_int_equal(db_og_check_password("omm", "Abc 12345", err, sizeof(err)), -EINVAL);
	assert_int_equal(
		db_og_check_password("omm", "Abcdefgh1234567890Abcdefgh1234567", err, sizeof(err)),
		-EINVAL);
	assert_int_equal(db_og_check_password("Gauss@123", "gAUSS@123", err, sizeof(err)), -EINVAL);
	assert_int_equal(db_og_check_password("321@ssuaG", "Gauss@123", err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "Gauss@123"));

	og_options(&o);
	snprintf(o.name, sizeof(o.name), "node-1");
	assert_int_equal(db_check_options(&o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "node-1"));
	assert_int_equal(db_new(&o, &db, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "node-1"));
	snprintf(o.name, sizeof(o.name), "node_1");
	snprintf(o.superuser.password, sizeof(o.superuser.password), "omm12345");
	assert_int_equal(db_new(&o, &db, err, sizeof(err)), -EINVAL);
	snprintf(o.superuser.password, sizeof(o.superuser.password), "Gauss@123");
	assert_int_equal(db_check_options(&o, err, sizeof(err)), 0);
	assert_int_equal(db_new(&o, &db, err, sizeof(err)), 0);
	db_free(db);
	/* PostgreSQL has no such rules. */
	o.engine = DB_ENGINE_POSTGRES;
	snprintf(o.replication.username, sizeof(o.replication.username), "replicator");
	snprintf(o.name, sizeof(o.name), "node-1");
	snprintf(o.superuser.password, sizeof(o.superuser.password), "x");
	assert_int_equal(db_new(&o, &db, err, sizeof(err)), 0);
	db_free(db);
}

/* §2.7: pg_controldata while the server is down; a text without the fields is refused. */
static void test_controldata_parses_the_documented_fields(void **state)
{
	struct db_og_control c;

	(void)state;
	load("controldata_shut_down.txt");
	assert_int_equal(db_og_parse_controldata(fixture_text, &c, err, sizeof(err)), 0);
	assert_string_equal(c.system_identifier, "7716386663860135075");
	assert_string_equal(c.cluster_state, "shut down");
	assert_int_equal(c.checkpoint_lsn, 0x4000028);
	assert_int_equal(db_og_parse_controldata("Database cluster state: shut down\n", &c, err,
						 sizeof(err)),
			 -EINVAL);
	assert_int_equal(db_og_parse_controldata("Database system identifier: 12x\n"
						 "Database cluster state: shut down\n",
						 &c, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(db_og_parse_controldata("Database system identifier: 1\n"
						 "Database cluster state: in production\n"
						 "Latest checkpoint location: zz\n",
						 &c, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(db_og_parse_controldata(NULL, &c, err, sizeof(err)), -EINVAL);
}

/* §2.2: Normal is reported as a primary that serves no standby. */
static void test_normal_is_a_degraded_primary(void **state)
{
	struct db_status st;

	(void)state;
	if (parse_fixture("query_normal.txt") != 0)
		fail_msg("%s", err);
	memset(&st, 0, sizeof(st));
	db_opengauss_fill_role(&query.ha, false, &st);
	assert_int_equal(st.role, DB_ROLE_PRIMARY);
	assert_non_null(strstr(st.detail, "Normal: a primary that serves no standby"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_primary_with_sync_standby_parses_all_blocks),
		cmocka_unit_test(test_query_primary_with_two_senders_splits_at_sender_pid),
		cmocka_unit_test(test_query_primary_without_standby_has_no_senders),
		cmocka_unit_test(test_query_streaming_standby_reads_receiver),
		cmocka_unit_test(test_query_catchup_standby_reads_percent_and_state),
		cmocka_unit_test(test_query_every_documented_state_parses_and_advises),
		cmocka_unit_test(test_driver_role_for_every_documented_state),
		cmocka_unit_test(test_driver_detail_names_state_and_reason),
		cmocka_unit_test(test_channel_gives_upstream_client_port),
		cmocka_unit_test(test_query_unknown_role_with_coredump_is_rejected),
		cmocka_unit_test(test_query_state_file_fallback_keeps_connection_error),
		cmocka_unit_test(test_query_state_file_access_denied_is_async_primary),
		cmocka_unit_test(test_query_crlf_line_ends_parse_like_lf),
		cmocka_unit_test(test_query_hostile_inputs_are_rejected_with_reason),
		cmocka_unit_test(test_query_truncated_mid_sender_keeps_what_arrived),
		cmocka_unit_test(test_query_failure_leaves_output_untouched),
		cmocka_unit_test(test_query_oversized_output_is_refused),
		cmocka_unit_test(test_query_embedded_nul_is_refused),
		cmocka_unit_test(test_query_null_text_is_rejected),
		cmocka_unit_test(test_stream_row_every_role_db_state_and_detail_maps),
		cmocka_unit_test(test_stream_row_missing_role_or_bad_count_is_rejected),
		cmocka_unit_test(test_stream_row_null_optional_columns_read_as_absent),
		cmocka_unit_test(test_stream_row_unlisted_detail_is_other_and_kept),
		cmocka_unit_test(test_sender_columns_map_every_state_and_sync_state),
		cmocka_unit_test(test_receiver_columns_parse_locations),
		cmocka_unit_test(test_lsn_text_parses_both_halves),
		cmocka_unit_test(test_lsn_malformed_text_is_rejected_and_output_kept),
		cmocka_unit_test(test_term_lsn_fields_parse_like_cm_query),
		cmocka_unit_test(test_term_lsn_record_text_strips_parentheses),
		cmocka_unit_test(test_term_lsn_record_malformed_is_rejected),
		cmocka_unit_test(test_term_lsn_order_is_term_first_then_lsn),
		cmocka_unit_test(test_replconninfo_lists_every_other_member_with_port_offsets),
		cmocka_unit_test(test_replconninfo_eight_peers_fit_nine_do_not),
		cmocka_unit_test(test_replconninfo_single_member_has_no_entries),
		cmocka_unit_test(test_replconninfo_bad_members_are_rejected),
		cmocka_unit_test(test_sync_settings_async_clears_the_star_default),
		cmocka_unit_test(
			test_sync_settings_named_non_strict_uses_first_n_without_most_available),
		cmocka_unit_test(test_sync_settings_strict_turns_most_available_off),
		cmocka_unit_test(test_sync_settings_quorum_uses_any),
		cmocka_unit_test(test_setting_differs_compares_units_booleans_and_text),
		cmocka_unit_test(test_sync_settings_bad_policy_is_rejected),
		cmocka_unit_test(test_guc_argv_quotes_values_and_reloads),
		cmocka_unit_test(test_guc_argv_refuses_quotes_and_bad_names),
		cmocka_unit_test(test_guc_argv_holds_the_maximum_settings),
		cmocka_unit_test(test_ctl_argv_for_every_command_the_agent_runs),
		cmocka_unit_test(test_ctl_argv_refuses_unsafe_requests),
		cmocka_unit_test(test_ctl_argv_overlong_path_is_an_error),
		cmocka_unit_test(test_enum_names_cover_every_value),
		cmocka_unit_test(test_set_peers_takes_at_most_nine_valid_members),
		cmocka_unit_test(test_term_limits_and_kept_term),
		cmocka_unit_test(test_reload_leaves_a_recycled_pid_alone),
		cmocka_unit_test(test_build_passes_the_term),
		cmocka_unit_test(test_initdb_input_rules),
		cmocka_unit_test(test_normal_is_a_degraded_primary),
		cmocka_unit_test(test_controldata_parses_the_documented_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
