/*
 * Runs every scenario file (*.scn) in the directory given as argv[1] (meson passes
 * tests/unit/scenarios). Each file is one cmocka test. The format is described in
 * scenarios/README.md: `start <fixture>`, `given <field> <value>`, `expect <what> <value>`,
 * `next` (a new cycle), `later` (many cycles on). ha_decide runs lazily, at the first `expect` after a change.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ha_decide.h"
#include "ha_fixtures.h"

#define SCN_FILES_MAX 128 /* scenario files per directory */
#define SCN_LINE_MAX 512  /* one line of a scenario */
#define SCN_TOKENS_MAX 16 /* words on one line */
#define SCN_PATH_MAX PATH_MAX

enum ftype {
	F_I64,
	F_U64,
	F_INT,
	F_BOOL,
	F_NAME,
	F_SYSID,
	F_DBSTATE,
	F_ENGINE,
	F_ACTION
};

struct field {
	const char *name;
	enum ftype type;
	size_t off;
};

#define FLD(path, type)                                      \
	{                                                    \
#path, type, offsetof(struct ha_input, path) \
	}

static const struct field fields[] = {
	FLD(now_ms, F_I64),
	FLD(now_wall_ms, F_I64),
	FLD(last_call_ms, F_I64),
	FLD(last_call_wall_ms, F_I64),
	FLD(policy.ttl_ms, F_I64),
	FLD(policy.loop_wait_ms, F_I64),
	FLD(policy.retry_timeout_ms, F_I64),
	FLD(policy.maximum_lag_on_failover_bytes, F_U64),
	FLD(policy.primary_start_timeout_ms, F_I64),
	FLD(policy.synchronous_mode, F_BOOL),
	FLD(policy.synchronous_mode_strict, F_BOOL),
	FLD(policy.synchronous_node_count, F_INT),
	FLD(policy.failsafe_mode, F_BOOL),
	FLD(policy.check_timeline, F_BOOL),
	FLD(policy.paused, F_BOOL),
	FLD(policy.use_pg_rewind, F_BOOL),
	FLD(policy.clone_without_leader, F_BOOL),
	FLD(policy.engine, F_ENGINE),
	FLD(policy.standby_cluster, F_BOOL),
	FLD(self.name, F_NAME),
	FLD(self.tags.nofailover, F_BOOL),
	FLD(self.tags.nosync, F_BOOL),
	FLD(self.tags.clonefrom, F_BOOL),
	FLD(self.tags.failover_priority, F_INT),
	FLD(self.tags.nostream, F_BOOL),
	FLD(self.tags.replicatefrom, F_NAME),
	FLD(self.shutdown_requested, F_BOOL),
	FLD(self.busy, F_ACTION),
	FLD(self.busy_since_ms, F_I64),
	FLD(self.failsafe_primary_seen_ms, F_I64),
	FLD(dcs.reachable, F_BOOL),
	FLD(dcs.initialize_present, F_BOOL),
	FLD(dcs.initialize, F_SYSID),
	FLD(dcs.leader_present, F_BOOL),
	FLD(dcs.leader, F_NAME),
	FLD(dcs.leader_lease_mine, F_BOOL),
	FLD(dcs.lease_renewed_ms, F_I64),
	FLD(dcs.lease_ttl_ms, F_I64),
	FLD(dcs.failover.present, F_BOOL),
	FLD(dcs.failover.leader, F_NAME),
	FLD(dcs.failover.candidate, F_NAME),
	FLD(dcs.failover.scheduled_at_wall_ms, F_I64),
	FLD(dcs.sync.present, F_BOOL),
	FLD(dcs.sync.leader, F_NAME),
	FLD(dcs.status_present, F_BOOL),
	FLD(dcs.optime_lsn, F_U64),
	FLD(dcs.cluster_timeline, F_I64),
	FLD(dcs.term, F_I64),
	FLD(dcs.failsafe_present, F_BOOL),
	FLD(db.state, F_DBSTATE),
	FLD(db.is_primary, F_BOOL),
	FLD(db.sysid, F_SYSID),
	FLD(db.timeline, F_I64),
	FLD(db.term, F_I64),
	FLD(db.lsn, F_U64),
	FLD(db.following, F_NAME),
	FLD(db.has_upstream, F_BOOL),
	FLD(db.following_remote, F_BOOL),
	FLD(db.rejoin_needed, F_BOOL),
	FLD(db.start_since_ms, F_I64),
	FLD(db.sync_placeholder, F_BOOL),
	FLD(db.sync_num, F_INT),
	FLD(db.sync_names.count, F_INT),
	FLD(db.replication_count, F_INT),
	FLD(probe.done, F_BOOL),
	FLD(probe.count, F_INT),
	FLD(failsafe.done, F_BOOL),
	FLD(failsafe.acked_ms, F_I64),
};

struct run {
	const char *path;
	int line;
	struct ha_input in;
	struct ha_output out;
	bool decided; /* out matches in */
	char err[SCN_LINE_MAX + 256];
};

static int bad(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct run *r, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->err, sizeof(r->err), "%s:%d: ", r->path, r->line);

	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_i64(struct run *r, const char *s, int64_t *v)
{
	int64_t base = 0;
	const char *num = s;
	char *end;
	long long x;

	if (strncmp(s, "now", 3) == 0) {
		base = r->in.now_ms;
		num = s + 3;
	} else if (strncmp(s, "wall", 4) == 0) {
		base = r->in.now_wall_ms;
		num = s + 4;
	}
	if (num != s && *num == '\0') {
		*v = base;
		return 0;
	}
	errno = 0;
	x = strtoll(num, &end, 10);
	if (errno || end == num || *end != '\0' || (num != s && *num != '+' && *num != '-'))
		return bad(r, "\"%s\": expected a number, now[+-N] or wall[+-N]", s);
	*v = base + x;
	return 0;
}

static int parse_bool(struct run *r, const char *s, bool *v)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0) {
		*v = true;
		return 0;
	}
	if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0) {
		*v = false;
		return 0;
	}
	return bad(r, "\"%s\": expected true or false", s);
}

static int copy_text(struct run *r, char *dst, size_t len, const char *s)
{
	size_t n;

	if (strcmp(s, "-") == 0)
		s = "";
	n = strlen(s);
	if (n >= len)
		return bad(r, "\"%s\": longer than %zu bytes", s, len - 1);
	memcpy(dst, s, n + 1);
	return 0;
}

static int set_field(struct run *r, const char *name, const char *value)
{
	const struct field *f = NULL;
	char *base = (char *)&r->in;
	int64_t i;
	int rc;

	for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++)
		if (strcmp(fields[k].name, name) == 0)
			f = &fields[k];
	if (!f)
		return bad(r, "unknown field \"%s\"", name);
	switch (f->type) {
	case F_I64:
		rc = parse_i64(r, value, (int64_t *)(base + f->off));
		break;
	case F_U64:
		rc = parse_i64(r, value, &i);
		if (rc == 0 && i < 0)
			rc = bad(r, "\"%s\" must not be negative", name);
		if (rc == 0)
			*(uint64_t *)(base + f->off) = (uint64_t)i;
		break;
	case F_INT:
		rc = parse_i64(r, value, &i);
		if (rc == 0 && (i < INT_MIN || i > INT_MAX))
			rc = bad(r, "\"%s\" out of range", value);
		if (rc == 0)
			*(int *)(base + f->off) = (int)i;
		break;
	case F_BOOL:
		rc = parse_bool(r, value, (bool *)(base + f->off));
		break;
	case F_NAME:
		rc = copy_text(r, base + f->off, MEMBER_NAME_MAX, value);
		break;
	case F_SYSID:
		rc = copy_text(r, base + f->off, HA_SYSID_MAX, value);
		break;
	case F_DBSTATE:
		rc = ha_db_state_from_name(value, (enum ha_db_state *)(base + f->off));
		if (rc)
			rc = bad(r, "\"%s\": not a database state", value);
		break;
	case F_ENGINE:
		if (strcmp(value, "postgres") == 0)
			r->in.policy.engine = HA_ENGINE_POSTGRES;
		else if (strcmp(value, "opengauss") == 0)
			r->in.policy.engine = HA_ENGINE_OPENGAUSS;
		else
			return bad(r, "\"%s\": expected postgres or opengauss", value);
		rc = 0;
		break;
	case F_ACTION:
		rc = ha_action_from_name(value, (enum ha_action *)(base + f->off));
		if (rc)
			rc = bad(r, "\"%s\": not an action", value);
		break;
	default:
		rc = bad(r, "internal: field type");
	}
	if (rc)
		return rc;
	/* Naming a leader or a failover member implies the key exists; "-" removes it. */
	if (strcmp(name, "dcs.leader") == 0)
		r->in.dcs.leader_present = r->in.dcs.leader[0] != '\0';
	if (strcmp(name, "dcs.failover.leader") == 0 || strcmp(name, "dcs.failover.candidate") == 0)
		r->in.dcs.failover.present =
			r->in.dcs.failover.leader[0] || r->in.dcs.failover.candidate[0];
	if (strcmp(name, "dcs.sync.leader") == 0)
		r->in.dcs.sync.present = r->in.dcs.sync.leader[0] != '\0';
	return 0;
}

/* `given member|peer|replication NAME word word=value ...` */
static int given_entity(struct run *r, char **tok, int n)
{
	const char *kind = tok[1], *name = tok[2];
	struct ha_tags *tags = NULL;
	uint64_t *lsn = NULL;
	bool *flag;
	int64_t v;

	if (n < 3)
		return bad(r, "given %s: needs a name", kind);
	if (strcmp(kind, "member") == 0) {
		struct ha_member *m = fix_member(&r->in, name, false, false, 0);

		tags = &m->tags;
		lsn = &m->lsn;
		for (int i = 3; i < n; i++) {
			flag = strcmp(tok[i], "running") == 0	  ? &m->running
			       : strcmp(tok[i], "primary") == 0	  ? &m->is_primary
			       : strcmp(tok[i], "streaming") == 0 ? &m->streaming
								  : NULL;
			if (flag)
				*flag = true;
		}
	} else if (strcmp(kind, "peer") == 0) {
		struct ha_peer *p = fix_peer(&r->in, name, false, false, 0);

		tags = &p->tags;
		lsn = &p->lsn;
		for (int i = 3; i < n; i++) {
			if (strcmp(tok[i], "reachable") == 0)
				p->reachable = true;
			if (strcmp(tok[i], "primary") == 0)
				p->is_primary = true;
			if (strncmp(tok[i], "term=", 5) == 0) {
				if (parse_i64(r, tok[i] + 5, &v))
					return -EINVAL;
				p->term = v;
			}
		}
	} else if (strcmp(kind, "replication") == 0) {
		struct ha_replication *rep = fix_replication(&r->in, name, false, false, 0);

		lsn = &rep->flush_lsn;
		for (int i = 3; i < n; i++) {
			if (strcmp(tok[i], "streaming") == 0)
				rep->streaming = true;
			if (strcmp(tok[i], "sync") == 0)
				rep->sync = true;
		}
	} else {
		return bad(r, "given: unknown kind \"%s\"", kind);
	}
	for (int i = 3; i < n; i++) {
		if (strncmp(tok[i], "lsn=", 4) == 0) {
			if (parse_i64(r, tok[i] + 4, &v))
				return -EINVAL;
			*lsn = (uint64_t)v;
		} else if (tags && strcmp(tok[i], "nofailover") == 0) {
			tags->nofailover = true;
		} else if (tags && strcmp(tok[i], "nosync") == 0) {
			tags->nosync = true;
		} else if (tags && strcmp(tok[i], "clonefrom") == 0) {
			tags->clonefrom = true;
		} else if (tags && strcmp(tok[i], "nostream") == 0) {
			tags->nostream = true;
		} else if (tags && strncmp(tok[i], "replicatefrom=", 14) == 0) {
			if (strlen(tok[i] + 14) >= sizeof(tags->replicatefrom))
				return bad(r, "given %s: replicatefrom too long", kind);
			memcpy(tags->replicatefrom, tok[i] + 14, strlen(tok[i] + 14) + 1);
		} else if (tags && strncmp(tok[i], "priority=", 9) == 0) {
			if (parse_i64(r, tok[i] + 9, &v))
				return -EINVAL;
			tags->failover_priority = (int)v;
		} else if (strcmp(tok[i], "running") && strcmp(tok[i], "primary") &&
			   strcmp(tok[i], "reachable") && strcmp(tok[i], "streaming") &&
			   strcmp(tok[i], "sync") && strncmp(tok[i], "term=", 5)) {
			return bad(r, "given %s: unknown word \"%s\"", kind, tok[i]);
		}
	}
	return 0;
}

static int start_fixture(struct run *r, const char *name)
{
	if (strcmp(name, "primary") == 0)
		fix_primary(&r->in);
	else if (strcmp(name, "replica") == 0)
		fix_replica(&r->in);
	else if (strcmp(name, "leaderless") == 0)
		fix_leaderless(&r->in);
	else if (strcmp(name, "leaderless-probed") == 0)
		fix_leaderless_probed(&r->in);
	else if (strcmp(name, "empty") == 0)
		fix_empty(&r->in);
	else
		return bad(r, "unknown fixture \"%s\"", name);
	return 0;
}

/* A new cycle: the clocks move on by loop_wait (or ms), this cycle's requests are forgotten. */
static void next_cycle(struct run *r, int64_t ms)
{
	r->in.last_call_ms = r->in.now_ms;
	r->in.last_call_wall_ms = r->in.now_wall_ms;
	r->in.now_ms += ms;
	r->in.now_wall_ms += ms;
	r->in.probe.done = false;
	r->in.probe.count = 0;
	r->in.failsafe.done = false;
}

static int names_text(const struct ha_names *s, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (s->count == 0)
		return snprintf(buf, len, "-") < (int)len ? 0 : -1;
	for (int i = 0; i < s->count; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? "," : "", s->name[i]);

		if (n < 0 || (size_t)n >= len - off)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static int expect(struct run *r, char **tok, int n)
{
	const struct ha_output *o = &r->out;
	const char *what = tok[1], *want = n > 2 ? tok[2] : "";
	char got[HA_MEMBERS_MAX * MEMBER_NAME_MAX];
	int64_t v;
	bool b = false;

	if (n != 3)
		return bad(r, "expect: needs exactly one value (quote text with spaces)");
	if (!r->decided) {
		ha_decide(&r->in, &r->out);
		r->decided = true;
	}
	if (strcmp(what, "action") == 0) {
		if (strcmp(ha_action_name(o->action), want) != 0)
			return bad(r, "expected action %s, got %s: %s", want,
				   ha_action_name(o->action), o->reason);
	} else if (strcmp(what, "mode") == 0) {
		if (strcmp(ha_demote_mode_name(o->demote_mode), want) != 0)
			return bad(r, "expected demote mode %s, got %s: %s", want,
				   ha_demote_mode_name(o->demote_mode), o->reason);
	} else if (strcmp(what, "target") == 0) {
		if (strcmp(o->target, strcmp(want, "-") == 0 ? "" : want) != 0)
			return bad(r, "expected target \"%s\", got \"%s\": %s", want, o->target,
				   o->reason);
	} else if (strcmp(what, "reason-has") == 0) {
		if (!strstr(o->reason, want))
			return bad(r, "expected the reason to contain \"%s\", got: %s", want,
				   o->reason);
	} else if (strcmp(what, "term") == 0) {
		if (parse_i64(r, want, &v))
			return -EINVAL;
		if (o->term != v)
			return bad(r, "expected term %lld, got %lld", (long long)v,
				   (long long)o->term);
	} else if (strcmp(what, "sync") == 0) {
		if (names_text(&o->sync, got, sizeof(got)) || strcmp(got, want) != 0)
			return bad(r, "expected sync %s, got %s", want, got);
	} else if (strcmp(what, "wake-by") == 0) {
		if (parse_i64(r, want, &v))
			return -EINVAL;
		if (o->wake_by_ms != v)
			return bad(r, "expected wake-by %lld, got %lld", (long long)v,
				   (long long)o->wake_by_ms);
	} else if (strcmp(what, "fence-deadline") == 0) {
		if (parse_i64(r, want, &v))
			return -EINVAL;
		if (o->fence_deadline_ms != v)
			return bad(r, "expected fence deadline %lld, got %lld", (long long)v,
				   (long long)o->fence_deadline_ms);
	} else {
		const bool *flag = strcmp(what, "leader") == 0		 ? &o->leader
				   : strcmp(what, "tilt") == 0		 ? &o->tilt
				   : strcmp(what, "stop-db") == 0	 ? &o->stop_db
				   : strcmp(what, "release-leader") == 0 ? &o->release_leader
				   : strcmp(what, "placeholder") == 0	 ? &o->sync_placeholder
				   : strcmp(what, "remote") == 0	 ? &o->remote
									 : NULL;

		if (!flag)
			return bad(r, "expect: unknown \"%s\"", what);
		if (parse_bool(r, want, &b))
			return -EINVAL;
		if (*flag != b)
			return bad(r, "expected %s %s: %s", what, want, o->reason);
	}
	return 0;
}

static int tokenize(struct run *r, char *line, char **tok)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '\n' || *p == '#')
			return n;
		if (n == SCN_TOKENS_MAX)
			return bad(r, "more than %d words", SCN_TOKENS_MAX);
		if (*p == '"' || *p == '\'') {
			char quote = *p;

			tok[n++] = ++p;
			while (*p && *p != quote)
				p++;
			if (*p != quote)
				return bad(r, "unterminated quote");
			*p++ = '\0';
			continue;
		}
		tok[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if (*p)
			*p++ = '\0';
	}
}

static int run_line(struct run *r, char **tok, int n)
{
	int64_t ms;

	if (strcmp(tok[0], "start") == 0 && n == 2) {
		r->decided = false;
		return start_fixture(r, tok[1]);
	}
	if (strcmp(tok[0], "given") == 0 && n >= 3) {
		r->decided = false;
		if (strcmp(tok[1], "member") == 0 || strcmp(tok[1], "peer") == 0 ||
		    strcmp(tok[1], "replication") == 0)
			return given_entity(r, tok, n);
		if (strcmp(tok[1], "sync-standby") == 0 && n == 3) {
			fix_names_add(&r->in.dcs.sync.standbys, tok[2]);
			return 0;
		}
		if (strcmp(tok[1], "sync-name") == 0 && n == 3) {
			fix_names_add(&r->in.db.sync_names, tok[2]);
			return 0;
		}
		if (strcmp(tok[1], "failsafe-member") == 0 && n == 3) {
			fix_names_add(&r->in.dcs.failsafe, tok[2]);
			r->in.dcs.failsafe_present = true;
			return 0;
		}
		if (n != 3)
			return bad(r, "given: one field, one value");
		return set_field(r, tok[1], tok[2]);
	}
	if (strcmp(tok[0], "remove") == 0 && n == 3 && strcmp(tok[1], "member") == 0) {
		r->decided = false;
		fix_member_remove(&r->in, tok[2]);
		return 0;
	}
	if (strcmp(tok[0], "renew") == 0 && n == 1) {
		r->decided = false;
		r->in.dcs.lease_renewed_ms = r->in.now_ms;
		return 0;
	}
	if (strcmp(tok[0], "next") == 0 && (n == 1 || n == 2)) {
		ms = r->in.policy.loop_wait_ms;
		if (n == 2 && (parse_i64(r, tok[1], &ms) || ms < 0))
			return bad(r, "next: expected a duration in ms");
		r->decided = false;
		next_cycle(r, ms);
		return 0;
	}
	if (strcmp(tok[0], "later") == 0 && n == 2) {
		if (parse_i64(r, tok[1], &ms) || ms < r->in.policy.loop_wait_ms)
			return bad(r, "later: expected a duration of at least loop_wait");
		r->decided = false;
		next_cycle(r, ms);
		r->in.last_call_ms = r->in.now_ms - r->in.policy.loop_wait_ms;
		r->in.last_call_wall_ms = r->in.now_wall_ms - r->in.policy.loop_wait_ms;
		return 0;
	}
	if (strcmp(tok[0], "expect") == 0)
		return expect(r, tok, n);
	return bad(r, "cannot read \"%s\" (%d words)", tok[0], n);
}

static void test_scenario(void **state)
{
	static struct run r;
	char line[SCN_LINE_MAX], *tok[SCN_TOKENS_MAX];
	int expects = 0;
	FILE *f;

	memset(&r, 0, sizeof(r));
	r.path = *state;
	fix_cluster(&r.in, "node1");
	f = fopen(r.path, "r");
	if (!f)
		fail_msg("cannot open %s: %s", r.path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		int n;

		r.line++;
		if (!strchr(line, '\n') && !feof(f)) {
			fclose(f);
			fail_msg("%s:%d: line longer than %d bytes", r.path, r.line, SCN_LINE_MAX);
		}
		n = tokenize(&r, line, tok);
		if (n < 0 || (n > 0 && run_line(&r, tok, n) < 0)) {
			fclose(f);
			fail_msg("%s", r.err);
		}
		if (n > 0 && strcmp(tok[0], "expect") == 0)
			expects++;
	}
	fclose(f);
	if (expects == 0)
		fail_msg("%s: no expect line: a scenario must check something", r.path);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv)
{
	static char paths[SCN_FILES_MAX][SCN_PATH_MAX];
	static const char *sorted[SCN_FILES_MAX];
	static struct CMUnitTest tests[SCN_FILES_MAX];
	struct dirent *de;
	int n = 0;
	DIR *dir;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SCENARIO_DIR\n", argv[0]);
		return 2;
	}
	dir = opendir(argv[1]);
	if (!dir) {
		fprintf(stderr, "cannot open \"%s\": %s\n", argv[1], strerror(errno));
		return 2;
	}
	while ((de = readdir(dir))) {
		size_t len = strlen(de->d_name);

		if (len < 5 || strcmp(de->d_name + len - 4, ".scn") != 0)
			continue;
		if (n == SCN_FILES_MAX || snprintf(paths[n], SCN_PATH_MAX, "%s/%s", argv[1],
						   de->d_name) >= SCN_PATH_MAX) {
			fprintf(stderr, "too many scenario files or path too long\n");
			closedir(dir);
			return 2;
		}
		sorted[n] = paths[n];
		n++;
	}
	closedir(dir);
	if (n == 0) {
		fprintf(stderr, "no scenario files in \"%s\"\n", argv[1]);
		return 2;
	}
	qsort(sorted, (size_t)n, sizeof(sorted[0]), by_name);
	for (int i = 0; i < n; i++) {
		tests[i].name = strrchr(sorted[i], '/') + 1;
		tests[i].test_func = test_scenario;
		tests[i].initial_state = (void *)sorted[i];
	}
	return _cmocka_run_group_tests("ha_scenarios", tests, (size_t)n, NULL, NULL);
}
