/*
 * db_opengauss_codec.c - pure parsers and renderers for the openGauss driver.
 *
 * Section numbers (§2.x) refer to /work/shared/opengauss.md, which says where each format was
 * read in the openGauss sources and tools.
 */
#include "db_opengauss_codec.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "err.h"
#include "lsn.h"
#include "num.h"

/* The separator between a padded column name and its value in gs_ctl query (§2.7). */
#define QUERY_SEPARATOR " : "
/* Highest client port for which port + 5 (the heartbeat port, §2.1) is still a port. */
#define PORT_MAX_WITH_OFFSETS (65535 - 5)

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

static const char *name_of(const char *const *table, int count, int value)
{
	if (value < 0 || value >= count || table[value] == NULL)
		return "invalid";
	return table[value];
}

const char *db_og_role_name(enum db_og_role role)
{
	return name_of(role_names, DB_OG_ROLE_COUNT, (int)role);
}

const char *db_og_db_state_name(enum db_og_db_state state)
{
	return name_of(db_state_names, DB_OG_DB_STATE_COUNT, (int)state);
}

const char *db_og_detail_name(enum db_og_detail detail)
{
	return name_of(detail_names, DB_OG_DETAIL_COUNT, (int)detail);
}

const char *db_og_sender_state_name(enum db_og_sender_state state)
{
	return name_of(sender_state_names, DB_OG_SENDER_COUNT, (int)state);
}

const char *db_og_sync_state_name(enum db_og_sync_state state)
{
	return name_of(sync_state_names, DB_OG_SYNC_COUNT, (int)state);
}

const char *db_og_stop_mode_name(enum db_og_stop_mode mode)
{
	return name_of(stop_mode_names, DB_OG_STOP_COUNT, (int)mode);
}

const char *db_og_build_mode_name(enum db_og_build_mode mode)
{
	return name_of(build_mode_names, DB_OG_BUILD_COUNT, (int)mode);
}

const char *db_og_build_advice_name(enum db_og_build_advice advice)
{
	return name_of(advice_names, DB_OG_ADVICE_COUNT, (int)advice);
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
	switch (ha->detail) {
	case DB_OG_DETAIL_SYSID_NOT_MATCHED:
		/* Another cluster's data directory: nothing to rewind from. */
		return DB_OG_ADVICE_BUILD_FULL;
	case DB_OG_DETAIL_TIMELINE_NOT_MATCHED:
	case DB_OG_DETAIL_WAL_REMOVED:
	case DB_OG_DETAIL_DCF_LOG_LOSS:
		return DB_OG_ADVICE_BUILD;
	case DB_OG_DETAIL_VERSION_NOT_MATCHED:
	case DB_OG_DETAIL_MODE_NOT_MATCHED:
		return DB_OG_ADVICE_REFUSE;
	case DB_OG_DETAIL_CONNECTING:
	case DB_OG_DETAIL_DISCONNECTED:
		return DB_OG_ADVICE_WAIT;
	default:
		break;
	}
	/* The in-tree tests treat "Need repair" as unhealthy (§2.7). */
	if (ha->db_state == DB_OG_DB_STATE_NEED_REPAIR)
		return DB_OG_ADVICE_BUILD;
	return DB_OG_ADVICE_NONE;
}

/* replconninfo ------------------------------------------------------------------------------ */

/* Host names go unquoted into a key=value list: letters, digits and . - _ : only. */
static bool host_is_safe(const char *host)
{
	const char *c;

	if (host[0] == '\0')
		return false;
	for (c = host; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != '_' && *c != ':')
			return false;
	return true;
}

static bool node_is_valid(const struct db_og_node *n)
{
	return memchr(n->host, '\0', sizeof(n->host)) != NULL && host_is_safe(n->host) &&
	       n->port >= 1 && n->port <= PORT_MAX_WITH_OFFSETS;
}

int db_og_render_replconninfo_entry(const struct db_og_node *self, const struct db_og_node *peer,
				    char *out, size_t cap)
{
	if (!node_is_valid(self) || !node_is_valid(peer))
		return -EINVAL;
	/* HA port + 1, service port + 4, heartbeat port + 5 (§2.1, §2.6). */
	return buf_format(out, cap,
			  "localhost=%s localport=%d localheartbeatport=%d localservice=%d "
			  "remotehost=%s remoteport=%d remoteheartbeatport=%d remoteservice=%d",
			  self->host, self->port + 1, self->port + 5, self->port + 4, peer->host,
			  peer->port + 1, peer->port + 5, peer->port + 4);
}

int db_og_render_replconninfo(const struct db_og_node *members, int n, int self_index,
			      struct db_og_replconninfo *out, char *err, size_t err_cap)
{
	struct db_og_replconninfo r;
	int i, rc;

	if (n < 1 || self_index < 0 || self_index >= n) {
		err_set(err, err_cap, "member index %d outside 0..%d", self_index, n - 1);
		return -EINVAL;
	}
	if (n - 1 > DB_OG_REPLCONNINFO_MAX) {
		err_set(err, err_cap, "%d peers exceed openGauss's %d replconninfo entries", n - 1,
			DB_OG_REPLCONNINFO_MAX);
		return -E2BIG;
	}
	memset(&r, 0, sizeof(r));
	for (i = 0; i < n; i++) {
		if (i == self_index)
			continue;
		if (strcmp(members[i].host, members[self_index].host) == 0 &&
		    members[i].port == members[self_index].port) {
			err_set(err, err_cap, "member %d has the same address as this node", i);
			return -EINVAL;
		}
		rc = db_og_render_replconninfo_entry(&members[self_index], &members[i],
						     r.entry[r.count], sizeof(r.entry[r.count]));
		if (rc < 0) {
			err_set(err, err_cap, "member %d: invalid host or port", i);
			return rc == -ENAMETOOLONG ? rc : -EINVAL;
		}
		r.count++;
	}
	*out = r;
	return 0;
}

/* Settings and command lines ---------------------------------------------------------------- */

static bool app_name_is_safe(const char *name)
{
	const char *c;

	if (name[0] == '\0')
		return false;
	for (c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
			return false;
	return true;
}

static int setting_put(struct db_og_setting *s, const char *name, const char *value)
{
	if (buf_copy(s->name, sizeof(s->name), name) < 0 ||
	    buf_copy(s->value, sizeof(s->value), value) < 0)
		return -ENAMETOOLONG;
	return 0;
}

int db_og_sync_settings(const struct db_og_sync_policy *policy, struct db_og_setting out[3],
			char *err, size_t err_cap)
{
	char names[DB_OG_GUC_VALUE_MAX];
	struct buf b;
	int i, rc;

	buf_init_fixed(&b, names, sizeof(names));
	if (!policy->enabled) {
		/* Asynchronous: an empty list overrides the '*' default that blocks commits. */
		rc = buf_puts(&b, "");
	} else {
		if (policy->n_names < 0 || policy->n_names > DB_OG_MEMBERS_MAX) {
			err_set(err, err_cap, "%d synchronous standby names", policy->n_names);
			return -EINVAL;
		}
		if (policy->num_sync < 1 ||
		    (policy->n_names > 0 && policy->num_sync > policy->n_names) ||
		    policy->num_sync > DB_OG_REPLCONNINFO_MAX) {
			err_set(err, err_cap, "synchronous standby count %d out of range",
				policy->num_sync);
			return -EINVAL;
		}
		rc = buf_printf(&b, "%s %d (", policy->quorum ? "ANY" : "FIRST", policy->num_sync);
		if (policy->n_names == 0 && rc == 0)
			rc = buf_puts(&b, "*");
		for (i = 0; i < policy->n_names && rc == 0; i++) {
			if (memchr(policy->names[i], '\0', sizeof(policy->names[i])) == NULL ||
			    !app_name_is_safe(policy->names[i])) {
				err_set(err, err_cap, "unsafe synchronous standby name %d", i);
				return -EINVAL;
			}
			rc = buf_printf(&b, "%s%s", i ? "," : "", policy->names[i]);
		}
		if (rc == 0)
			rc = buf_puts(&b, ")");
	}
	if (rc < 0) {
		err_set(err, err_cap, "synchronous_standby_names too long");
		return -ENAMETOOLONG;
	}
	/* synchronous_commit on waits for the listed standbys; most_available_sync off is the
	 * strict mode that keeps blocking when they are gone (§2.9). */
	if (setting_put(&out[0], "synchronous_standby_names", names) < 0 ||
	    setting_put(&out[1], "synchronous_commit", "on") < 0 ||
	    setting_put(&out[2], "most_available_sync",
			policy->enabled && policy->strict ? "off" : "on") < 0) {
		err_set(err, err_cap, "setting too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Splits "16MB" into 16 and the multiplier of its unit in base units (bytes or ms); a bare
 * number has multiplier 0 (unknown unit). Returns false when it is not a number with a known
 * unit. */
static bool split_quantity(const char *text, double *number, double *mult)
{
	static const struct {
		const char *suffix;
		double mult;
	} units[] = {
		{ "kB", 1024.0 },
		{ "MB", 1024.0 * 1024 },
		{ "GB", 1024.0 * 1024 * 1024 },
		{ "TB", 1024.0 * 1024 * 1024 * 1024 },
		{ "B", 1.0 },
		{ "us", 0.001 },
		{ "ms", 1.0 },
		{ "s", 1000.0 },
		{ "min", 60000.0 },
		{ "h", 3600000.0 },
		{ "d", 86400000.0 },
	};
	char digits[64];
	size_t n = strlen(text), i, len;

	for (len = 0; len < n && (isdigit((unsigned char)text[len]) || text[len] == '.' ||
				  (len == 0 && text[len] == '-'));
	     len++)
		;
	if (len == 0 || len >= sizeof(digits))
		return false;
	memcpy(digits, text, len);
	digits[len] = '\0';
	if (num_parse_double(digits, -1e18, 1e18, number) < 0)
		return false;
	while (text[len] == ' ')
		len++;
	if (text[len] == '\0') {
		*mult = 0;
		return true;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(text + len, units[i].suffix) == 0) {
			*mult = units[i].mult;
			return true;
		}
	}
	return false;
}

bool db_og_setting_differs(const char *configured, const char *setting, const char *unit)
{
	double cv, cm, sv, sm, um = 0, un;
	bool cb, sb;

	if (configured == NULL || setting == NULL)
		return false;
	if (strcasecmp(configured, setting) == 0)
		return false;
	if (num_parse_bool(configured, &cb) == 0 && num_parse_bool(setting, &sb) == 0)
		return cb != sb;
	if (!split_quantity(configured, &cv, &cm) || !split_quantity(setting, &sv, &sm))
		return true;
	/* The running value is in units of unit ("8kB": 8192 bytes); a bare configured number is
	 * in those units too. */
	if (unit != NULL && unit[0] != '\0') {
		char unit1[32];

		/* "8kB" carries its count; "kB" or "s" mean one of them. */
		if (buf_format(unit1, sizeof(unit1), "%s%s",
			       isdigit((unsigned char)unit[0]) ? "" : "1", unit) < 0 ||
		    !split_quantity(unit1, &un, &um))
			return true;
		if (um == 0)
			um = 1;
		um *= un;
	} else {
		um = 1;
	}
	if (sm == 0)
		sv *= um;
	else
		sv *= sm;
	if (cm == 0)
		cv *= um;
	else
		cv *= cm;
	return cv != sv;
}

static int argv_add(struct db_og_argv *a, const char *s)
{
	if (s == NULL || a->argc >= DB_OG_ARGV_MAX)
		return -E2BIG;
	if (buf_copy(a->arg[a->argc], sizeof(a->arg[a->argc]), s) < 0)
		return -ENAMETOOLONG;
	a->argc++;
	return 0;
}

static int argv_addf(struct db_og_argv *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int argv_addf(struct db_og_argv *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (a->argc >= DB_OG_ARGV_MAX)
		return -E2BIG;
	va_start(ap, fmt);
	n = vsnprintf(a->arg[a->argc], sizeof(a->arg[a->argc]), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(a->arg[a->argc])) {
		a->arg[a->argc][0] = '\0';
		return -ENAMETOOLONG;
	}
	a->argc++;
	return 0;
}

static bool value_is_safe(const char *v)
{
	const char *c;

	for (c = v; *c; c++)
		if (*c == '\'' || *c == '\\' || iscntrl((unsigned char)*c))
			return false;
	return true;
}

static bool guc_name_is_safe(const char *n)
{
	const char *c;

	if (n[0] == '\0')
		return false;
	for (c = n; *c; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_')
			return false;
	return true;
}

int db_og_guc_argv(struct db_og_argv *out, const char *gs_guc, const char *datadir, bool reload,
		   const struct db_og_setting *settings, int n, char *err, size_t err_cap)
{
	struct db_og_argv a;
	int i, rc;

	if (n < 1 || n > DB_OG_SETTINGS_MAX) {
		err_set(err, err_cap, "%d settings for one gs_guc call", n);
		return -EINVAL;
	}
	if (gs_guc == NULL || datadir == NULL || datadir[0] == '\0') {
		err_set(err, err_cap, "gs_guc path or data directory missing");
		return -EINVAL;
	}
	a.argc = 0;
	rc = argv_add(&a, gs_guc);
	if (rc == 0)
		rc = argv_add(&a, reload ? "reload" : "set");
	if (rc == 0)
		rc = argv_add(&a, "-D");
	if (rc == 0)
		rc = argv_add(&a, datadir);
	for (i = 0; i < n && rc == 0; i++) {
		if (memchr(settings[i].name, '\0', sizeof(settings[i].name)) == NULL ||
		    memchr(settings[i].value, '\0', sizeof(settings[i].value)) == NULL ||
		    !guc_name_is_safe(settings[i].name) || !value_is_safe(settings[i].value)) {
			err_set(err, err_cap, "setting %d: unsafe name or value", i);
			return -EINVAL;
		}
		rc = argv_add(&a, "-c");
		if (rc == 0)
			rc = argv_addf(&a, "%s = '%s'", settings[i].name, settings[i].value);
	}
	if (rc < 0) {
		err_set(err, err_cap, "gs_guc command line too long");
		return rc;
	}
	*out = a;
	return 0;
}

static bool mode_is_valid(const char *mode)
{
	/* The modes gaussdb -M accepts that the agent uses (§2.2). */
	return mode != NULL &&
	       (strcmp(mode, "pending") == 0 || strcmp(mode, "primary") == 0 ||
		strcmp(mode, "standby") == 0 || strcmp(mode, "cascade_standby") == 0);
}

/* Starts "gs_ctl <cmd> -D <dir>". */
static int ctl_head(struct db_og_argv *a, const char *gs_ctl, const char *cmd, const char *datadir)
{
	int rc;

	if (gs_ctl == NULL || gs_ctl[0] == '\0' || datadir == NULL || datadir[0] == '\0')
		return -EINVAL;
	a->argc = 0;
	rc = argv_add(a, gs_ctl);
	if (rc == 0)
		rc = argv_add(a, cmd);
	if (rc == 0)
		rc = argv_add(a, "-D");
	if (rc == 0)
		rc = argv_add(a, datadir);
	return rc;
}

static int ctl_wait(struct db_og_argv *a, int timeout_s)
{
	int rc;

	if (timeout_s < 1)
		return -EINVAL;
	rc = argv_add(a, "-w");
	if (rc == 0)
		rc = argv_add(a, "-t");
	if (rc == 0)
		rc = argv_addf(a, "%d", timeout_s);
	return rc;
}

static int ctl_opts(struct db_og_argv *a, const char *opts, const char *logfile)
{
	int rc = 0;

	if (opts != NULL && opts[0] != '\0') {
		rc = argv_add(a, "-o");
		if (rc == 0)
			rc = argv_add(a, opts);
	}
	if (rc == 0 && logfile != NULL && logfile[0] != '\0') {
		rc = argv_add(a, "-l");
		if (rc == 0)
			rc = argv_add(a, logfile);
	}
	return rc;
}

int db_og_ctl_start(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
		    const char *mode, int timeout_s, const char *opts, const char *logfile)
{
	struct db_og_argv a;
	int rc;

	if (!mode_is_valid(mode))
		return -EINVAL;
	rc = ctl_head(&a, gs_ctl, "start", datadir);
	if (rc == 0)
		rc = argv_add(&a, "-M");
	if (rc == 0)
		rc = argv_add(&a, mode);
	if (rc == 0)
		rc = ctl_wait(&a, timeout_s);
	if (rc == 0)
		rc = ctl_opts(&a, opts, logfile);
	if (rc < 0)
		return rc;
	*out = a;
	return 0;
}

int db_og_ctl_restart(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
		      const char *mode, enum db_og_stop_mode stop, int timeout_s, const char *opts,
		      const char *logfile)
{
	struct db_og_argv a;
	int rc;

	if (!mode_is_valid(mode) || (stop != DB_OG_STOP_FAST && stop != DB_OG_STOP_IMMEDIATE))
		return -EINVAL;
	rc = ctl_head(&a, gs_ctl, "restart", datadir);
	if (rc == 0)
		rc = argv_add(&a, "-M");
	if (rc == 0)
		rc = argv_add(&a, mode);
	if (rc == 0)
		rc = argv_add(&a, "-m");
	if (rc == 0)
		rc = argv_add(&a, db_og_stop_mode_name(stop));
	if (rc == 0)
		rc = ctl_wait(&a, timeout_s);
	if (rc == 0)
		rc = ctl_opts(&a, opts, logfile);
	if (rc < 0)
		return rc;
	*out = a;
	return 0;
}

int db_og_ctl_stop(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
		   enum db_og_stop_mode stop, int timeout_s)
{
	struct db_og_argv a;
	int rc;

	if (stop != DB_OG_STOP_FAST && stop != DB_OG_STOP_IMMEDIATE)
		return -EINVAL;
	rc = ctl_head(&a, gs_ctl, "stop", datadir);
	if (rc == 0)
		rc = argv_add(&a, "-m");
	if (rc == 0)
		rc = argv_add(&a, db_og_stop_mode_name(stop));
	if (rc == 0)
		rc = ctl_wait(&a, timeout_s);
	if (rc < 0)
		return rc;
	*out = a;
	return 0;
}

static int ctl_term(struct db_og_argv *a, uint32_t term)
{
	int rc = argv_add(a, "-T");

	if (rc == 0)
		rc = argv_addf(a, "%" PRIu32, term);
	return rc;
}

int db_og_ctl_notify(struct db_og_argv *out, const char *gs_ctl, const char *datadir, bool primary,
		     uint32_t term, int timeout_s)
{
	struct db_og_argv a;
	int rc;

	if (primary && term == 0)
		return -EINVAL;
	rc = ctl_head(&a, gs_ctl, "notify", datadir);
	if (rc == 0)
		rc = argv_add(&a, "-M");
	if (rc == 0)
		rc = argv_add(&a, primary ? "primary" : "standby");
	if (rc == 0 && term > 0)
		rc = ctl_term(&a, term);
	if (rc == 0)
		rc = ctl_wait(&a, timeout_s);
	if (rc < 0)
		return rc;
	*out = a;
	return 0;
}

int db_og_ctl_failover(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
		       uint32_t term, int timeout_s)
{
	struct db_og_argv a;
	int rc;

	if (term == 0)
		return -EINVAL;
	rc = ctl_head(&a, gs_ctl, "failover", datadir);
	if (rc == 0)
		rc = ctl_term(&a, term);
	if (rc == 0)
		rc = ctl_wait(&a, timeout_s);
	if (rc < 0)
		return rc;
	*out = a;
	return 0;
}

int db_og_ctl_switchover(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
			 uint32_t term, int timeout_s)
{
	struct db_og_argv a;
	int rc;

	if (term == 0)
		return -EINVAL;
	rc = ctl_head(&a, gs_ctl, "switchover", datadir);
	if (rc == 0)
		rc = argv_add(&a, "-m");
	if (rc == 0)
		rc = argv_add(&a, "fast"); /* smart and immediate are rejected (§2.4) */
	if (rc == 0)
		rc = ctl_term(&a, term);
	if (rc == 0)
		rc = ctl_wait(&a, timeout_s);
	if (rc < 0)
		return rc;
	*out = a;
	return 0;
}

int db_og_ctl_build(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
		    enum db_og_build_mode mode, uint32_t term, int recv_timeout_s)
{
	struct db_og_argv a;
	int rc;

	if (mode < 0 || mode >= DB_OG_BUILD_COUNT || recv_timeout_s < 1)
		return -EINVAL;
	rc = ctl_head(&a, gs_ctl, "build", datadir);
	if (rc == 0)
		rc = argv_add(&a, "-b");
	if (rc == 0)
		rc = argv_add(&a, db_og_build_mode_name(mode));
	if (rc == 0)
		rc = argv_add(&a, "-M");
	if (rc == 0)
		rc = argv_add(&a, "standby");
	if (rc == 0)
		rc = argv_add(&a, "-r");
	if (rc == 0)
		rc = argv_addf(&a, "%d", recv_timeout_s);
	if (rc == 0 && term > 0)
		rc = ctl_term(&a, term);
	if (rc < 0)
		return rc;
	*out = a;
	return 0;
}

int db_og_ctl_query(struct db_og_argv *out, const char *gs_ctl, const char *datadir)
{
	struct db_og_argv a;
	int rc = ctl_head(&a, gs_ctl, "query", datadir);

	if (rc < 0)
		return rc;
	*out = a;
	return 0;
}

void db_og_argv_ptrs(const struct db_og_argv *a, const char *ptrs[DB_OG_ARGV_MAX + 1])
{
	int i;

	for (i = 0; i < a->argc && i < DB_OG_ARGV_MAX; i++)
		ptrs[i] = a->arg[i];
	ptrs[i] = NULL;
}
