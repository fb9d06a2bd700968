/*
 * db_opengauss_codec.c - the pure parsers of the openGauss driver: enum names, the (term, lsn)
 * record, HA state and sender/receiver rows, gs_ctl query output, the walreceiver's channel and
 * whether a standby needs a build. The renderers are in db_opengauss_argv.c.
 *
 * Section numbers (§2.x) refer to /work/shared/opengauss.md, which says where each format was
 * read in the openGauss sources and tools.
 */
#include "db_opengauss_codec.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "enum_name.h"
#include "err.h"
#include "kvtext.h"
#include "lsn.h"
#include "num.h"

/* The separator between a padded column name and its value in gs_ctl query (§2.7). */
#define QUERY_SEPARATOR " : "

/* Enum names ------------------------------------------------------------------------------ */

/* The texts the server prints (§2.7), which double as the names we log. */
static const char *const role_names[DB_OG_ROLE_COUNT] = {
	[DB_OG_ROLE_UNKNOWN] = "Unknown",
	[DB_OG_ROLE_NORMAL] = "Normal",
	[DB_OG_ROLE_PRIMARY] = "Primary",
	[DB_OG_ROLE_STANDBY] = "Standby",
	[DB_OG_ROLE_CASCADE_STANDBY] = "Cascade Standby",
	[DB_OG_ROLE_MAIN_STANDBY] = "Main Standby",
	[DB_OG_ROLE_PENDING] = "Pending",
};

static const char *const db_state_names[DB_OG_DB_STATE_COUNT] = {
	[DB_OG_DB_STATE_UNKNOWN] = "Unknown",
	[DB_OG_DB_STATE_NORMAL] = "Normal",
	[DB_OG_DB_STATE_NEED_REPAIR] = "Need repair",
	[DB_OG_DB_STATE_STARTING] = "Starting",
	[DB_OG_DB_STATE_WAIT_PROMOTING] = "Wait promoting",
	[DB_OG_DB_STATE_DEMOTING] = "Demoting",
	[DB_OG_DB_STATE_PROMOTING] = "Promoting",
	[DB_OG_DB_STATE_BUILDING] = "Building",
	[DB_OG_DB_STATE_CATCHUP] = "Catchup",
	[DB_OG_DB_STATE_COREDUMP] = "Coredump",
};

static const char *const detail_names[DB_OG_DETAIL_COUNT] = {
	[DB_OG_DETAIL_UNKNOWN] = "Unknown",
	[DB_OG_DETAIL_NORMAL] = "Normal",
	[DB_OG_DETAIL_CONNECTING] = "Connecting...",
	[DB_OG_DETAIL_DISCONNECTED] = "Disconnected",
	[DB_OG_DETAIL_WAL_REMOVED] = "WAL segment removed",
	[DB_OG_DETAIL_VERSION_NOT_MATCHED] = "Version not matched",
	[DB_OG_DETAIL_MODE_NOT_MATCHED] = "Mode not matched",
	[DB_OG_DETAIL_SYSID_NOT_MATCHED] = "System id not matched",
	[DB_OG_DETAIL_TIMELINE_NOT_MATCHED] = "Timeline not matched",
	[DB_OG_DETAIL_DCF_LOG_LOSS] = "DCF log loss",
	[DB_OG_DETAIL_OTHER] = "other",
};

static const char *const sender_state_names[DB_OG_SENDER_COUNT] = {
	[DB_OG_SENDER_UNKNOWN] = "Unknown",	[DB_OG_SENDER_STARTUP] = "Startup",
	[DB_OG_SENDER_BACKUP] = "Backup",	[DB_OG_SENDER_CATCHUP] = "Catchup",
	[DB_OG_SENDER_STREAMING] = "Streaming",
};

static const char *const sync_state_names[DB_OG_SYNC_COUNT] = {
	[DB_OG_SYNC_UNKNOWN] = "Unknown",     [DB_OG_SYNC_ASYNC] = "Async",
	[DB_OG_SYNC_SYNC] = "Sync",	      [DB_OG_SYNC_QUORUM] = "Quorum",
	[DB_OG_SYNC_POTENTIAL] = "Potential",
};

static const char *const stop_mode_names[DB_OG_STOP_COUNT] = {
	[DB_OG_STOP_FAST] = "fast",
	[DB_OG_STOP_IMMEDIATE] = "immediate",
};

static const char *const build_mode_names[DB_OG_BUILD_COUNT] = {
	[DB_OG_BUILD_AUTO] = "auto",
	[DB_OG_BUILD_FULL] = "full",
	[DB_OG_BUILD_INCREMENTAL] = "incremental",
};

static const char *const advice_names[DB_OG_ADVICE_COUNT] = {
	[DB_OG_ADVICE_NONE] = "none",	  [DB_OG_ADVICE_WAIT] = "wait",
	[DB_OG_ADVICE_BUILD] = "build",	  [DB_OG_ADVICE_BUILD_FULL] = "build full",
	[DB_OG_ADVICE_REFUSE] = "refuse",
};

const char *db_og_role_name(enum db_og_role role)
{
	return ENUM_NAME(role_names, role);
}

const char *db_og_db_state_name(enum db_og_db_state state)
{
	return ENUM_NAME(db_state_names, state);
}

const char *db_og_detail_name(enum db_og_detail detail)
{
	return ENUM_NAME(detail_names, detail);
}

const char *db_og_sender_state_name(enum db_og_sender_state state)
{
	return ENUM_NAME(sender_state_names, state);
}

const char *db_og_sync_state_name(enum db_og_sync_state state)
{
	return ENUM_NAME(sync_state_names, state);
}

const char *db_og_stop_mode_name(enum db_og_stop_mode mode)
{
	return ENUM_NAME(stop_mode_names, mode);
}

const char *db_og_build_mode_name(enum db_og_build_mode mode)
{
	return ENUM_NAME(build_mode_names, mode);
}

const char *db_og_build_advice_name(enum db_og_build_advice advice)
{
	return ENUM_NAME(advice_names, advice);
}

/* Finds text in a name table, ignoring case; returns fallback when it is not there. */
static int lookup(const char *const *table, int count, const char *text, int fallback)
{
	int i;

	if (text == NULL)
		return fallback;
	for (i = 0; i < count; i++)
		if (table[i] != NULL && strcasecmp(table[i], text) == 0)
			return i;
	return fallback;
}

enum db_og_role db_og_role_parse(const char *text)
{
	return (enum db_og_role)lookup(role_names, DB_OG_ROLE_COUNT, text, DB_OG_ROLE_UNKNOWN);
}

enum db_og_db_state db_og_db_state_parse(const char *text)
{
	return (enum db_og_db_state)lookup(db_state_names, DB_OG_DB_STATE_COUNT, text,
					   DB_OG_DB_STATE_UNKNOWN);
}

enum db_og_detail db_og_detail_parse(const char *text)
{
	if (text == NULL || text[0] == '\0')
		return DB_OG_DETAIL_UNKNOWN;
	/* "other" is our name, not a server text: never match it. */
	return (enum db_og_detail)lookup(detail_names, DB_OG_DETAIL_OTHER, text,
					 DB_OG_DETAIL_OTHER);
}

enum db_og_sender_state db_og_sender_state_parse(const char *text)
{
	return (enum db_og_sender_state)lookup(sender_state_names, DB_OG_SENDER_COUNT, text,
					       DB_OG_SENDER_UNKNOWN);
}

enum db_og_sync_state db_og_sync_state_parse(const char *text)
{
	return (enum db_og_sync_state)lookup(sync_state_names, DB_OG_SYNC_COUNT, text,
					     DB_OG_SYNC_UNKNOWN);
}

/* Locations and terms ----------------------------------------------------------------------- */

int db_og_parse_term_lsn_fields(const char *term, const char *lsn, struct db_og_term_lsn *out,
				char *err, size_t err_cap)
{
	uint64_t t, l;

	if (term == NULL || num_parse_u64(term, 0, UINT32_MAX, &t) < 0) {
		err_set(err, err_cap, "invalid term \"%s\"", term ? term : "(null)");
		return -EINVAL;
	}
	if (lsn == NULL || lsn_parse(lsn, &l) < 0) {
		err_set(err, err_cap, "invalid lsn \"%s\"", lsn ? lsn : "(null)");
		return -EINVAL;
	}
	out->term = (uint32_t)t;
	out->lsn = l;
	return 0;
}

/* Longest record text "(4294967295,FFFFFFFF/FFFFFFFF)" plus slack for spaces. */
#define TERM_LSN_RECORD_MAX 64

int db_og_parse_term_lsn_record(const char *text, struct db_og_term_lsn *out, char *err,
				size_t err_cap)
{
	char copy[TERM_LSN_RECORD_MAX];
	char *start, *end, *comma;

	if (text == NULL || buf_copy(copy, sizeof(copy), text) < 0) {
		err_set(err, err_cap, "replay location record missing or too long");
		return -EINVAL;
	}
	start = copy;
	while (isspace((unsigned char)*start))
		start++;
	end = start + strlen(start);
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	if (end - start < 2 || start[0] != '(' || end[-1] != ')') {
		err_set(err, err_cap, "replay location record \"%s\" is not \"(term,lsn)\"", text);
		return -EINVAL;
	}
	end[-1] = '\0';
	start++;
	comma = strchr(start, ',');
	if (comma == NULL || strchr(comma + 1, ',') != NULL) {
		err_set(err, err_cap, "replay location record \"%s\" is not \"(term,lsn)\"", text);
		return -EINVAL;
	}
	*comma = '\0';
	return db_og_parse_term_lsn_fields(start, comma + 1, out, err, err_cap);
}

int db_og_term_lsn_cmp(const struct db_og_term_lsn *a, const struct db_og_term_lsn *b)
{
	if (a->term != b->term)
		return a->term < b->term ? -1 : 1;
	if (a->lsn != b->lsn)
		return a->lsn < b->lsn ? -1 : 1;
	return 0;
}

/* State rows -------------------------------------------------------------------------------- */

static void ha_state_clear(struct db_og_ha_state *ha)
{
	memset(ha, 0, sizeof(*ha));
	ha->static_connections = -1;
}

/* Applies one HA-state column; unknown names are ignored. */
static int ha_state_set(struct db_og_ha_state *ha, const char *name, const char *value, char *err,
			size_t err_cap)
{
	if (strcmp(name, "local_role") == 0) {
		ha->local_role = db_og_role_parse(value);
	} else if (strcmp(name, "static_connections") == 0) {
		if (num_parse_int(value, 0, DB_OG_REPLCONNINFO_MAX * 4, &ha->static_connections) <
		    0) {
			err_set(err, err_cap, "invalid static_connections \"%s\"", value);
			return -EINVAL;
		}
	} else if (strcmp(name, "db_state") == 0) {
		ha->db_state = db_og_db_state_parse(value);
	} else if (strcmp(name, "detail_information") == 0) {
		/* Free text: a long connection error is cut, never refused. */
		snprintf(ha->detail_text, sizeof(ha->detail_text), "%s", value);
		ha->detail = db_og_detail_parse(value);
	} else if (strcmp(name, "sync_mode") == 0) {
		ha->has_sync_mode = true;
		ha->from_state_file = true;
		ha->sync_mode = strcasecmp(value, "Sync") == 0;
	}
	return 0;
}

int db_og_ha_state_from_row(const char *local_role, const char *static_connections,
			    const char *db_state, const char *detail_information,
			    struct db_og_ha_state *out, char *err, size_t err_cap)
{
	struct db_og_ha_state ha;
	int rc;

	if (local_role == NULL || db_state == NULL) {
		err_set(err, err_cap, "stream replication row lacks local_role or db_state");
		return -EINVAL;
	}
	ha_state_clear(&ha);
	ha.local_role = db_og_role_parse(local_role);
	ha.db_state = db_og_db_state_parse(db_state);
	if (static_connections != NULL) {
		rc = ha_state_set(&ha, "static_connections", static_connections, err, err_cap);
		if (rc < 0)
			return rc;
	}
	if (detail_information != NULL)
		(void)ha_state_set(&ha, "detail_information", detail_information, err, err_cap);
	*out = ha;
	return 0;
}

/* Parses a location column; NULL or "" (nothing received yet) reads as 0. */
static int set_lsn(uint64_t *field, const char *name, const char *value, char *err, size_t cap)
{
	if (value == NULL || value[0] == '\0') {
		*field = 0;
		return 0;
	}
	if (lsn_parse(value, field) < 0) {
		err_set(err, cap, "invalid %s \"%s\"", name, value);
		return -EINVAL;
	}
	return 0;
}

/* sync_percent is text like "100%" (§2.7). */
static int set_percent(int *field, const char *value, char *err, size_t cap)
{
	char digits[8];
	size_t n = value ? strlen(value) : 0;

	if (n > 0 && value[n - 1] == '%')
		n--;
	if (n == 0 || n >= sizeof(digits)) {
		err_set(err, cap, "invalid sync_percent \"%s\"", value ? value : "(null)");
		return -EINVAL;
	}
	memcpy(digits, value, n);
	digits[n] = '\0';
	if (num_parse_int(digits, 0, 100, field) < 0) {
		err_set(err, cap, "invalid sync_percent \"%s\"", value);
		return -EINVAL;
	}
	return 0;
}

static int set_pid(int64_t *field, const char *value, char *err, size_t cap)
{
	if (num_parse_i64(value, 0, INT64_MAX, field) < 0) {
		err_set(err, cap, "invalid pid \"%s\"", value);
		return -EINVAL;
	}
	return 0;
}

static void set_text(char *field, size_t cap, const char *value)
{
	snprintf(field, cap, "%s", value ? value : "");
}

static void sender_clear(struct db_og_sender *s)
{
	memset(s, 0, sizeof(*s));
	s->sync_percent = -1;
	s->sync_priority = -1;
}

static void receiver_clear(struct db_og_receiver *r)
{
	memset(r, 0, sizeof(*r));
	r->sync_percent = -1;
}

int db_og_sender_set(struct db_og_sender *s, const char *name, const char *value, char *err,
		     size_t err_cap)
{
	if (value == NULL)
		value = "";
	if (strcmp(name, "sender_pid") == 0 || strcmp(name, "pid") == 0)
		return set_pid(&s->sender_pid, value, err, err_cap);
	if (strcmp(name, "local_role") == 0)
		s->local_role = db_og_role_parse(value);
	else if (strcmp(name, "peer_role") == 0)
		set_text(s->peer_role, sizeof(s->peer_role), value);
	else if (strcmp(name, "peer_state") == 0)
		set_text(s->peer_state, sizeof(s->peer_state), value);
	else if (strcmp(name, "state") == 0)
		s->state = db_og_sender_state_parse(value);
	else if (strcmp(name, "sender_sent_location") == 0)
		return set_lsn(&s->sent_lsn, name, value, err, err_cap);
	else if (strcmp(name, "receiver_write_location") == 0)
		return set_lsn(&s->write_lsn, name, value, err, err_cap);
	else if (strcmp(name, "receiver_flush_location") == 0)
		return set_lsn(&s->flush_lsn, name, value, err, err_cap);
	else if (strcmp(name, "receiver_replay_location") == 0)
		return set_lsn(&s->replay_lsn, name, value, err, err_cap);
	else if (strcmp(name, "sync_percent") == 0)
		return set_percent(&s->sync_percent, value, err, err_cap);
	else if (strcmp(name, "sync_state") == 0)
		s->sync_state = db_og_sync_state_parse(value);
	else if (strcmp(name, "sync_priority") == 0) {
		if (num_parse_int(value, 0, 1000000, &s->sync_priority) < 0) {
			err_set(err, err_cap, "invalid sync_priority \"%s\"", value);
			return -EINVAL;
		}
	} else if (strcmp(name, "sync_most_available") == 0)
		s->sync_most_available = strcasecmp(value, "On") == 0;
	else if (strcmp(name, "channel") == 0)
		set_text(s->channel, sizeof(s->channel), value);
	return 0;
}

int db_og_receiver_set(struct db_og_receiver *r, const char *name, const char *value, char *err,
		       size_t err_cap)
{
	if (value == NULL)
		value = "";
	if (strcmp(name, "receiver_pid") == 0)
		return set_pid(&r->receiver_pid, value, err, err_cap);
	if (strcmp(name, "local_role") == 0)
		r->local_role = db_og_role_parse(value);
	else if (strcmp(name, "peer_role") == 0)
		set_text(r->peer_role, sizeof(r->peer_role), value);
	else if (strcmp(name, "peer_state") == 0)
		set_text(r->peer_state, sizeof(r->peer_state), value);
	else if (strcmp(name, "state") == 0)
		set_text(r->state, sizeof(r->state), value);
	else if (strcmp(name, "sender_flush_location") == 0)
		return set_lsn(&r->sender_flush_lsn, name, value, err, err_cap);
	else if (strcmp(name, "receiver_received_location") == 0)
		return set_lsn(&r->received_lsn, name, value, err, err_cap);
	else if (strcmp(name, "receiver_flush_location") == 0)
		return set_lsn(&r->flush_lsn, name, value, err, err_cap);
	else if (strcmp(name, "receiver_replay_location") == 0)
		return set_lsn(&r->replay_lsn, name, value, err, err_cap);
	else if (strcmp(name, "sync_percent") == 0)
		return set_percent(&r->sync_percent, value, err, err_cap);
	else if (strcmp(name, "channel") == 0)
		set_text(r->channel, sizeof(r->channel), value);
	return 0;
}

/* gs_ctl query ------------------------------------------------------------------------------ */

enum query_block {
	BLOCK_NONE,
	BLOCK_HA,
	BLOCK_SENDERS,
	BLOCK_RECEIVER
};

/* Trims spaces, tabs and CR at both ends, in place. */
static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

struct query_parser {
	struct db_og_query q;
	enum query_block block;
	bool seen_ha;
	int sender_fields; /* columns set on the current sender */
	char *err;
	size_t err_cap;
	int line_no;
};

static int query_row(struct query_parser *p, const char *name, const char *value)
{
	int rc;

	switch (p->block) {
	case BLOCK_HA:
		p->seen_ha = true;
		return ha_state_set(&p->q.ha, name, value, p->err, p->err_cap);
	case BLOCK_SENDERS:
		/* Each sender's rows start at sender_pid; a block without one is one sender. */
		if (p->q.n_senders == 0 ||
		    (strcmp(name, "sender_pid") == 0 && p->sender_fields > 0)) {
			if (p->q.n_senders >= DB_OG_SENDERS_MAX) {
				err_set(p->err, p->err_cap, "line %d: more than %d senders",
					p->line_no, DB_OG_SENDERS_MAX);
				return -EINVAL;
			}
			sender_clear(&p->q.senders[p->q.n_senders++]);
			p->sender_fields = 0;
		}
		rc = db_og_sender_set(&p->q.senders[p->q.n_senders - 1], name, value, p->err,
				      p->err_cap);
		p->sender_fields++;
		return rc;
	case BLOCK_RECEIVER:
		if (!p->q.has_receiver) {
			receiver_clear(&p->q.receiver);
			p->q.has_receiver = true;
		}
		return db_og_receiver_set(&p->q.receiver, name, value, p->err, p->err_cap);
	case BLOCK_NONE:
		break;
	}
	return 0; /* a row outside any block: gs_ctl's own chatter, skipped */
}

static int query_line(struct query_parser *p, char *line)
{
	char *t = trim(line);
	char *sep;

	if (t[0] == '\0')
		return 0;
	if (strcmp(t, "HA state:") == 0) {
		p->block = BLOCK_HA;
		return 0;
	}
	if (strcmp(t, "Senders info:") == 0) {
		p->block = BLOCK_SENDERS;
		return 0;
	}
	if (strcmp(t, "Receiver info:") == 0) {
		p->block = BLOCK_RECEIVER;
		return 0;
	}
	if (strcmp(t, "No information") == 0)
		return 0;
	sep = strstr(t, QUERY_SEPARATOR);
	if (sep == NULL) {
		/* A log prefix line or a wrapped error message: not a row. */
		return 0;
	}
	*sep = '\0';
	return query_row(p, trim(t), trim(sep + strlen(QUERY_SEPARATOR)));
}

int db_og_parse_query(const char *text, size_t len, struct db_og_query *out, char *err,
		      size_t err_cap)
{
	static const char no_text[] = "";
	struct query_parser p;
	char line[DB_OG_LINE_MAX];
	size_t pos = 0;
	int rc;

	if (text == NULL) {
		text = no_text;
		len = 0;
	}
	if (len > DB_OG_QUERY_TEXT_MAX) {
		err_set(err, err_cap, "query output of %zu bytes exceeds %d", len,
			DB_OG_QUERY_TEXT_MAX);
		return -E2BIG;
	}
	memset(&p, 0, sizeof(p));
	ha_state_clear(&p.q.ha);
	p.err = err;
	p.err_cap = err_cap;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		p.line_no++;
		if (n >= sizeof(line)) {
			err_set(err, err_cap, "line %d: longer than %d bytes", p.line_no,
				DB_OG_LINE_MAX - 1);
			return -EINVAL;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		if (memchr(line, '\0', n) != NULL) {
			err_set(err, err_cap, "line %d: NUL byte in query output", p.line_no);
			return -EINVAL;
		}
		rc = query_line(&p, line);
		if (rc < 0)
			return rc;
		pos += n + (nl ? 1 : 0);
	}
	if (!p.seen_ha || p.q.ha.local_role == DB_OG_ROLE_UNKNOWN) {
		err_set(err, err_cap, "no \"HA state\" block with a known local_role");
		return -EINVAL;
	}
	*out = p.q;
	return 0;
}

int db_og_parse_channel_upstream(const char *channel, char *host, size_t cap, int *port)
{
	const char *arrow, *hp, *colon;
	int ha_port;

	if (channel == NULL || (arrow = strstr(channel, "<--")) == NULL)
		return -EINVAL;
	hp = arrow + 3;
	colon = strrchr(hp, ':');
	if (colon == NULL || colon == hp || num_parse_int(colon + 1, 2, 65536, &ha_port) < 0)
		return -EINVAL;
	if ((size_t)(colon - hp) >= cap)
		return -ENAMETOOLONG;
	memcpy(host, hp, (size_t)(colon - hp));
	host[colon - hp] = '\0';
	*port = ha_port - 1;
	return 0;
}

enum db_og_build_advice db_og_build_advice(const struct db_og_ha_state *ha)
{
	if (ha->local_role != DB_OG_ROLE_STANDBY && ha->local_role != DB_OG_ROLE_CASCADE_STANDBY)
		return DB_OG_ADVICE_NONE;
	/* §2.7 Corrected: act on detail_information as CM does, never on Need repair alone
	 * (CM:src/cm_server/cms_arbitrate_datanode_pms.cpp:289-330, 1844-1862). */
	switch (ha->detail) {
	case DB_OG_DETAIL_SYSID_NOT_MATCHED:
		/* Another cluster's data directory: nothing to rewind from. */
		return DB_OG_ADVICE_BUILD_FULL;
	case DB_OG_DETAIL_TIMELINE_NOT_MATCHED:
	case DB_OG_DETAIL_WAL_REMOVED: /* also a CRC mismatch: a diverged old primary */
	case DB_OG_DETAIL_VERSION_NOT_MATCHED:
	case DB_OG_DETAIL_DCF_LOG_LOSS:
		return DB_OG_ADVICE_BUILD;
	case DB_OG_DETAIL_MODE_NOT_MATCHED:
		/* A build cannot fix a mode mismatch; CM does not build either. */
		return DB_OG_ADVICE_REFUSE;
	case DB_OG_DETAIL_CONNECTING:
	case DB_OG_DETAIL_DISCONNECTED:
		return DB_OG_ADVICE_WAIT;
	default:
		break;
	}
	return DB_OG_ADVICE_NONE;
}

/* pg_controldata ---------------------------------------------------------------------------- */

int db_og_parse_controldata(const char *text, struct db_og_control *out, char *err, size_t err_cap)
{
	struct db_og_control c;
	char lsn[64];

	memset(&c, 0, sizeof(c));
	if (text == NULL ||
	    !kvtext_value(text, "Database system identifier", c.system_identifier,
			  sizeof(c.system_identifier)) ||
	    strspn(c.system_identifier, "0123456789") != strlen(c.system_identifier) ||
	    !kvtext_value(text, "Database cluster state", c.cluster_state,
			  sizeof(c.cluster_state))) {
		err_set(err, err_cap, "pg_controldata: no system identifier or cluster state");
		return -EINVAL;
	}
	if (kvtext_value(text, "Latest checkpoint location", lsn, sizeof(lsn)) &&
	    lsn_parse(lsn, &c.checkpoint_lsn) < 0) {
		err_set(err, err_cap, "pg_controldata: malformed checkpoint location");
		return -EINVAL;
	}
	*out = c;
	return 0;
}
