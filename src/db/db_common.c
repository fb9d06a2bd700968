/*
 * db_common.c - the pure helpers both drivers share (unit-tested): postmaster.pid, conninfo and
 * configuration lines, identifiers, synchronous_standby_names, parameter sets, and the role
 * decision from what the process and SQL showed. The I/O helpers are in db_local.c.
 */
#include "db_driver.h"

#include "buf.h"
#include "err.h"
#include "clock.h"
#include "log.h"
#include "num.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Longest single line of postmaster.pid we accept (a data directory path is the long one). */
#define DB_PIDFILE_LINE_MAX DB_PATH_MAX

/* --- postmaster.pid ------------------------------------------------------------------------- */

/* Copies line (without its newline) into out, trimming trailing blanks (the status line is
 * padded). */
static int copy_line(const char *start, size_t len, char *out, size_t out_cap)
{
	while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\r'))
		len--;
	if (len + 1 > out_cap)
		return -EINVAL;
	memcpy(out, start, len);
	out[len] = '\0';
	return 0;
}

int db_pidfile_parse(const char *text, struct db_pidfile *out)
{
	if (!text)
		return -EINVAL;
	struct db_pidfile pf;
	memset(&pf, 0, sizeof(pf));
	pf.shm_id = -1;
	const char *p = text;
	char line[DB_PIDFILE_LINE_MAX];
	for (int no = 1; *p && no <= 8; no++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (copy_line(p, len, line, sizeof(line)) < 0)
			return -EINVAL;
		for (const char *c = line; *c; c++) {
			if ((unsigned char)*c < 0x20 && *c != '\t')
				return -EINVAL;
		}
		switch (no) {
		case 1:
			if (num_parse_int(line, 1, INT_MAX, &pf.pid) < 0)
				return -EINVAL;
			break;
		case 2:
			if (buf_copy(pf.data_dir, sizeof(pf.data_dir), line) != 0)
				return -EINVAL;
			break;
		case 3:
			if (line[0] && num_parse_i64(line, 0, INT64_MAX, &pf.start_time) < 0)
				return -EINVAL;
			break;
		case 4:
			if (line[0] && num_parse_int(line, 0, 65535, &pf.port) < 0)
				return -EINVAL;
			break;
		case 5:
			if (buf_copy(pf.socket_dir, sizeof(pf.socket_dir), line) != 0)
				return -EINVAL;
			break;
		case 6:
			if (buf_copy(pf.listen_addr, sizeof(pf.listen_addr), line) != 0)
				return -EINVAL;
			break;
		case 7: {
			/* "%9lu %9lu": the key, then the id (a space when the server has none) */
			char *id = line + strspn(line, " ");

			id += strcspn(id, " ");
			id += strspn(id, " ");
			/* only a hint (db_shm_in_use): an engine writing something else is not
			 * an error */
			if (id[0] == '\0' || num_parse_int(id, 0, INT_MAX, &pf.shm_id) < 0)
				pf.shm_id = -1;
			break;
		}
		case 8:
			if (buf_copy(pf.status, sizeof(pf.status), line) != 0)
				return -EINVAL;
			break;
		default:
			break;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	if (pf.pid <= 0)
		return -EINVAL;
	*out = pf;
	return 0;
}

/* --- Identifiers, conninfo, configuration lines -------------------------------------- */

int db_conninfo_add(char *dst, size_t cap, const char *key, const char *value)
{
	size_t len = strnlen(dst, cap);
	if (len >= cap)
		return -ENOBUFS;
	bool quote = !*value || strpbrk(value, " \t\n\r'\\=") != NULL;
	size_t need = len + (len ? 1 : 0) + strlen(key) + 1 + (quote ? 2 : 0);
	for (const char *c = value; *c; c++)
		need += (*c == '\'' || *c == '\\') ? 2 : 1;
	if (need + 1 > cap)
		return -ENOBUFS;
	char *o = dst + len;
	if (len)
		*o++ = ' ';
	size_t klen = strlen(key);
	memcpy(o, key, klen);
	o += klen;
	*o++ = '=';
	if (quote)
		*o++ = '\'';
	for (const char *c = value; *c; c++) {
		if (*c == '\'' || *c == '\\')
			*o++ = '\\';
		*o++ = *c;
	}
	if (quote)
		*o++ = '\'';
	*o = '\0';
	return 0;
}

static bool plain_ident(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (const char *c = s + 1; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '$'))
			return false;
	}
	return true;
}

int db_quote_ident(const char *s, char *out, size_t out_cap)
{
	if (plain_ident(s))
		return buf_copy(out, out_cap, s) == 0 ? 0 : -ENAMETOOLONG;
	size_t o = 0;
	if (out_cap < 3)
		return -ENAMETOOLONG;
	out[o++] = '"';
	for (const char *c = s; *c; c++) {
		size_t need = *c == '"' ? 2 : 1;
		if (o + need + 2 > out_cap)
			return -ENAMETOOLONG;
		if (*c == '"')
			out[o++] = '"';
		out[o++] = *c;
	}
	out[o++] = '"';
	out[o] = '\0';
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int db_render_sync_names(const struct db_sync *sync, char *out, size_t out_cap)
{
	if (!sync || out_cap == 0 || sync->count < 0 || sync->count > DB_STANDBYS_MAX)
		return -EINVAL;
	if (sync->method == DB_SYNC_METHOD_OFF || sync->count == 0) {
		out[0] = '\0';
		return 0;
	}
	if (sync->method != DB_SYNC_METHOD_PRIORITY && sync->method != DB_SYNC_METHOD_QUORUM)
		return -EINVAL;
	char names[DB_STANDBYS_MAX][MEMBER_NAME_MAX];
	int n = 0;
	for (int i = 0; i < sync->count; i++) {
		if (!memchr(sync->names[i], '\0', MEMBER_NAME_MAX) || !sync->names[i][0])
			return -EINVAL;
		memcpy(names[n++], sync->names[i], MEMBER_NAME_MAX);
	}
	qsort(names, (size_t)n, MEMBER_NAME_MAX, cmp_names);
	int uniq = 0;
	for (int i = 0; i < n; i++) {
		if (uniq == 0 || strcmp(names[uniq - 1], names[i]) != 0)
			memmove(names[uniq++], names[i], MEMBER_NAME_MAX);
	}
	bool any = uniq == 1 && strcmp(names[0], "*") == 0;
	int num = sync->num ? sync->num : uniq;
	if (num < 1 || (!any && num > uniq))
		return -EINVAL;
	char list[DB_PARAM_VALUE_MAX] = "";
	size_t len = 0;
	for (int i = 0; i < uniq; i++) {
		char q[MEMBER_NAME_MAX * 2 + 3];
		if (strcmp(names[i], "*") == 0) {
			if (uniq > 1)
				return -EINVAL; /* "*" mixed with names means nothing useful */
			memcpy(q, "*", 2);
		} else if (db_quote_ident(names[i], q, sizeof(q)) < 0) {
			return -ENAMETOOLONG;
		}
		int w = snprintf(list + len, sizeof(list) - len, "%s%s", i ? "," : "", q);
		if (w < 0 || (size_t)w >= sizeof(list) - len)
			return -ENAMETOOLONG;
		len += (size_t)w;
	}
	/* Patroni 3.0 writes a lone standby bare and several as "n (a,b)"; FIRST says the same
	 * thing explicitly. */
	if (sync->method == DB_SYNC_METHOD_PRIORITY && uniq == 1 && num == 1)
		return buf_copy(out, out_cap, list) == 0 ? 0 : -ENAMETOOLONG;
	return buf_format(out, out_cap, "%s %d (%s)",
			  sync->method == DB_SYNC_METHOD_QUORUM ? "ANY" : "FIRST", num, list) == 0
		       ? 0
		       : -ENAMETOOLONG;
}

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* One standby name of synchronous_standby_names: "quoted", * or an identifier as PostgreSQL's
 * syncrep scanner reads it. */
static int parse_sync_name(const char **pp, char *out, size_t cap)
{
	const char *p = *pp;
	size_t n = 0;
	if (*p == '"') {
		for (p++;; p++) {
			if (!*p)
				return -EINVAL;
			if (*p == '"') {
				if (p[1] != '"')
					break;
				p++;
			}
			if (n + 1 >= cap)
				return -EINVAL;
			out[n++] = *p;
		}
		p++;
		if (n == 0)
			return -EINVAL;
	} else if (*p == '*') {
		out[n++] = *p++;
	} else {
		unsigned char c = (unsigned char)*p;
		if (!(isalpha(c) || c == '_' || c >= 0x80))
			return -EINVAL;
		while ((c = (unsigned char)*p) != '\0' &&
		       (isalnum(c) || c == '_' || c == '$' || c >= 0x80)) {
			if (n + 1 >= cap)
				return -EINVAL;
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	*pp = p;
	return 0;
}

/* True when p starts with keyword (any case) followed by blanks and a digit. */
static bool sync_keyword(const char *p, const char *keyword)
{
	size_t n = strlen(keyword);
	if (strncasecmp(p, keyword, n) != 0)
		return false;
	const char *q = skip_blanks(p + n);
	return q != p + n && isdigit((unsigned char)*q);
}

int db_parse_sync_names(const char *s, struct db_sync *out)
{
	if (!s)
		return -EINVAL;
	struct db_sync r;
	memset(&r, 0, sizeof(r));
	const char *p = skip_blanks(s);
	if (!*p) {
		*out = r;
		return 0;
	}
	r.method = DB_SYNC_METHOD_PRIORITY;
	bool grouped = false;
	if (sync_keyword(p, "FIRST")) {
		p = skip_blanks(p + 5);
	} else if (sync_keyword(p, "ANY")) {
		r.method = DB_SYNC_METHOD_QUORUM;
		p = skip_blanks(p + 3);
	}
	if (isdigit((unsigned char)*p)) {
		char num[16];
		size_t n = strspn(p, "0123456789");
		if (n >= sizeof(num))
			return -EINVAL;
		memcpy(num, p, n);
		num[n] = '\0';
		if (num_parse_int(num, 1, INT_MAX, &r.num) < 0)
			return -EINVAL;
		p = skip_blanks(p + n);
		if (*p != '(')
			return -EINVAL;
		p = skip_blanks(p + 1);
		grouped = true;
	} else if (r.method == DB_SYNC_METHOD_QUORUM) {
		return -EINVAL;
	} else {
		r.num = 1;
	}
	for (;;) {
		if (r.count >= DB_STANDBYS_MAX)
			return -EINVAL;
		if (parse_sync_name(&p, r.names[r.count], sizeof(r.names[0])) < 0)
			return -EINVAL;
		r.count++;
		p = skip_blanks(p);
		if (*p != ',')
			break;
		p = skip_blanks(p + 1);
	}
	if (grouped) {
		if (*p != ')')
			return -EINVAL;
		p = skip_blanks(p + 1);
	}
	if (*p)
		return -EINVAL;
	*out = r;
	return 0;
}

static bool valid_param_name(const char *s)
{
	if (!*s)
		return false;
	for (const char *c = s; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.')
			return false;
	}
	return true;
}

int db_conf_add(char *dst, size_t cap, const char *name, const char *value)
{
	if (!valid_param_name(name) || strpbrk(value, "\n\r"))
		return -EINVAL;
	size_t len = strnlen(dst, cap);
	if (len >= cap)
		return -ENOBUFS;
	size_t need = len + strlen(name) + 6 + 1;
	for (const char *c = value; *c; c++)
		need += (*c == '\'' || *c == '\\') ? 2 : 1;
	if (need + 1 > cap)
		return -ENOBUFS;
	char *o = dst + len;
	size_t nlen = strlen(name);
	memcpy(o, name, nlen);
	o += nlen;
	memcpy(o, " = '", 4);
	o += 4;
	for (const char *c = value; *c; c++) {
		if (*c == '\'' || *c == '\\')
			*o++ = *c;
		*o++ = *c;
	}
	*o++ = '\'';
	*o++ = '\n';
	*o = '\0';
	return 0;
}

int db_params_set(struct db_params *params, const char *name, const char *value)
{
	if (strlen(name) >= DB_PARAM_NAME_MAX || strlen(value) >= DB_PARAM_VALUE_MAX)
		return -ENAMETOOLONG;
	for (int i = params->count - 1; i >= 0; i--) {
		if (strcasecmp(params->items[i].name, name) == 0) { /* as PostgreSQL compares */
			memcpy(params->items[i].value, value, strlen(value) + 1);
			return 0;
		}
	}
	if (params->count >= DB_PARAMS_MAX)
		return -ENOBUFS;
	struct db_param *p = &params->items[params->count++];
	memcpy(p->name, name, strlen(name) + 1);
	memcpy(p->value, value, strlen(value) + 1);
	return 0;
}

const char *db_params_get(const struct db_params *params, const char *name)
{
	for (int i = params->count - 1; i >= 0; i--) {
		if (strcasecmp(params->items[i].name, name) == 0)
			return params->items[i].value;
	}
	return NULL;
}

/* --- The role decision ---------------------------------------------------------------------- */

int64_t db_secs_of(int64_t ms)
{
	int64_t s = (ms + 999) / 1000;
	return s > 0 ? s : 1;
}

void db_classify(const struct db_probe *probe, struct db_status *st)
{
	st->initialized = probe->initialized;
	st->running = false;
	st->accepting = false;
	st->postmaster_pid = 0;
	if (probe->pidfile_rc == -ENOENT) {
		st->role = DB_ROLE_STOPPED;
		if (!probe->initialized)
			snprintf(st->detail, sizeof(st->detail),
				 "data directory is not initialized");
		return;
	}
	if (probe->pidfile_rc < 0) {
		st->role = DB_ROLE_UNKNOWN;
		snprintf(st->detail, sizeof(st->detail), "could not read postmaster.pid: %s",
			 strerror(-probe->pidfile_rc));
		return;
	}
	st->postmaster_pid = probe->pf.pid;
	if (!probe->alive) {
		st->role = DB_ROLE_CRASHED;
		snprintf(st->detail, sizeof(st->detail),
			 "postmaster.pid names pid %d, which is not running", probe->pf.pid);
		return;
	}
	st->running = true;
	if (probe->connected) {
		st->accepting = true;
		st->role = probe->in_recovery ? DB_ROLE_REPLICA : DB_ROLE_PRIMARY;
		return;
	}
	const char *e = probe->conn_error;
	const char *pm = probe->pf.status;
	if (strcmp(pm, "stopping") == 0 || strstr(e, "shutting down"))
		st->role = DB_ROLE_STOPPING;
	else if (strcmp(pm, "starting") == 0 || pm[0] == '\0' || strstr(e, "starting up") ||
		 strstr(e, "in recovery mode") || strstr(e, "not yet accepting"))
		st->role = DB_ROLE_STARTING;
	else
		st->role = DB_ROLE_UNKNOWN; /* "ready" or "standby" yet no answer: hung */
	snprintf(st->detail, sizeof(st->detail), "%s", e);
}
