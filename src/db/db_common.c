/*
 * db_common.c - helpers both drivers share: pure renderers and parsers (unit-tested), and thin
 * file and command wrappers.
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
/* Environment entries db_run adds, with room for their values. */
#define DB_ENV_ENTRY_MAX (DB_PATH_MAX + 32)
/* Open file descriptors nftw may use while removing a tree. */
#define DB_REMOVE_FDS 16

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

int db_pidfile_read(const char *data_dir, struct db_pidfile *out)
{
	char path[DB_PATH_MAX + 32];
	if (buf_format(path, sizeof(path), "%s/postmaster.pid", data_dir) != 0)
		return -ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	char text[DB_PIDFILE_MAX + 1];
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, text + len, sizeof(text) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len >= sizeof(text) - 1) {
			close(fd);
			return -EINVAL; /* larger than any real postmaster.pid */
		}
	}
	close(fd);
	text[len] = '\0';
	if (strlen(text) != len)
		return -EINVAL; /* a NUL inside */
	return db_pidfile_parse(text, out);
}

bool db_pid_alive(int pid)
{
	if (pid <= 0)
		return false;
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* --- LSNs, identifiers, conninfo, configuration lines -------------------------------------- */

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
	char names[DB_STANDBYS_MAX][DB_NAME_MAX];
	int n = 0;
	for (int i = 0; i < sync->count; i++) {
		if (!memchr(sync->names[i], '\0', DB_NAME_MAX) || !sync->names[i][0])
			return -EINVAL;
		memcpy(names[n++], sync->names[i], DB_NAME_MAX);
	}
	qsort(names, (size_t)n, DB_NAME_MAX, cmp_names);
	int uniq = 0;
	for (int i = 0; i < n; i++) {
		if (uniq == 0 || strcmp(names[uniq - 1], names[i]) != 0)
			memmove(names[uniq++], names[i], DB_NAME_MAX);
	}
	bool any = uniq == 1 && strcmp(names[0], "*") == 0;
	int num = sync->num ? sync->num : uniq;
	if (num < 1 || (!any && num > uniq))
		return -EINVAL;
	char list[DB_PARAM_VALUE_MAX] = "";
	size_t len = 0;
	for (int i = 0; i < uniq; i++) {
		char q[DB_NAME_MAX * 2 + 3];
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
		if (strcmp(params->items[i].name, name) == 0) {
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
		if (strcmp(params->items[i].name, name) == 0)
			return params->items[i].value;
	}
	return NULL;
}

/* --- Files and commands --------------------------------------------------------------------- */

int db_bin_path(const struct db *db, const char *program, char *out, size_t out_cap)
{
	if (!db->opts.bin_dir[0])
		return buf_copy(out, out_cap, program) == 0 ? 0 : -ENAMETOOLONG;
	return buf_format(out, out_cap, "%s/%s", db->opts.bin_dir, program) == 0 ? 0
										 : -ENAMETOOLONG;
}

int db_write_file(const char *path, const char *content, int mode, char *err, size_t err_cap)
{
	char tmp[DB_PATH_MAX + 16];
	if (buf_format(tmp, sizeof(tmp), "%s.tmp", path) != 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "path \"%s\" is too long", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return err_fail(err, err_cap, -errno, "could not create \"%s\": %s", tmp,
				strerror(errno));
	size_t len = strlen(content);
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, content + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return err_fail(err, err_cap, -e, "could not write \"%s\": %s", tmp,
					strerror(e));
		}
		off += (size_t)w;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return err_fail(err, err_cap, -e, "could not sync \"%s\": %s", tmp, strerror(e));
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return err_fail(err, err_cap, -e, "could not rename \"%s\": %s", tmp, strerror(e));
	}
	return 0;
}

/* True when the file at path holds exactly len bytes equal to content. */
static bool file_equals(const char *path, const char *content, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	bool same = true;
	size_t off = 0;
	char chunk[4096];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			same = false;
			break;
		}
		if (r == 0)
			break;
		if (off + (size_t)r > len || memcmp(chunk, content + off, (size_t)r) != 0) {
			same = false;
			break;
		}
		off += (size_t)r;
	}
	close(fd);
	return same && off == len;
}

int db_write_file_if_changed(const char *path, const char *content, int mode, bool *changed,
			     char *err, size_t err_cap)
{
	if (file_equals(path, content, strlen(content))) {
		if (changed)
			*changed = false;
		return 0;
	}
	int rc = db_write_file(path, content, mode, err, err_cap);
	if (rc == 0 && changed)
		*changed = true;
	return rc;
}

bool db_server_running(const struct db *db)
{
	struct db_pidfile pf;
	return db_pidfile_read(db->opts.data_dir, &pf) == 0 && db_pid_alive(pf.pid);
}

int db_prepare_clone_dir(struct db *db, char *err, size_t err_cap)
{
	if (db_server_running(db))
		return err_fail(err, err_cap, -EBUSY, "a server is running in \"%s\"",
				db->opts.data_dir);
	if (db_dir_empty(db->opts.data_dir))
		return 0;
	if (!db->task.replace_existing)
		return err_fail(err, err_cap, -EEXIST, "data directory \"%s\" is not empty",
				db->opts.data_dir);
	return db_clear_dir(db->opts.data_dir, err, err_cap);
}

bool db_dir_empty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT;
	struct dirent *e;
	bool empty = true;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			empty = false;
			break;
		}
	}
	closedir(d);
	return empty;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
	return rc == 0 || errno == ENOENT ? 0 : -1;
}

int db_remove_tree(const char *path, char *err, size_t err_cap)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0
				       : err_fail(err, err_cap, -errno, "could not stat \"%s\": %s",
						  path, strerror(errno));
	if (nftw(path, remove_entry, DB_REMOVE_FDS, FTW_DEPTH | FTW_PHYS) != 0)
		return err_fail(err, err_cap, errno ? -errno : -EIO, "could not remove \"%s\": %s",
				path, strerror(errno));
	return 0;
}

static int remove_below_root(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (ftw->level == 0)
		return 0;
	return remove_entry(path, sb, flag, ftw);
}

int db_clear_dir(const char *path, char *err, size_t err_cap)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0
				       : err_fail(err, err_cap, -errno, "could not stat \"%s\": %s",
						  path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_fail(err, err_cap, -ENOTDIR, "\"%s\" is not a directory", path);
	if (nftw(path, remove_below_root, DB_REMOVE_FDS, FTW_DEPTH | FTW_PHYS) != 0)
		return err_fail(err, err_cap, errno ? -errno : -EIO, "could not empty \"%s\": %s",
				path, strerror(errno));
	return 0;
}

/* The environment every command gets: our pgpass file, and C messages so output parses. */
struct db_env {
	char pgpass[DB_ENV_ENTRY_MAX];
	const char *list[4];
};

static int make_env(struct db *db, struct db_env *env)
{
	if (buf_format(env->pgpass, sizeof(env->pgpass), "PGPASSFILE=%s", db->opts.pgpass_path) !=
	    0)
		return -ENAMETOOLONG;
	env->list[0] = env->pgpass;
	env->list[1] = "LC_ALL=C";
	env->list[2] = "LANG=C";
	env->list[3] = NULL;
	return 0;
}

/* "pg_rewind failed: "pg_rewind" exited with status 1: could not connect ..." */
static int command_error(const char *program, const struct proc_result *res, const char *last,
			 char *err, size_t err_cap)
{
	return err_fail(err, err_cap, res->timed_out ? -ETIMEDOUT : -EIO, "%s failed: %s%s%s",
			program, res->reason, last && last[0] ? ": " : "", last ? last : "");
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int db_run(struct db *db, const char *const argv[], int64_t timeout_ms, char *output,
	   size_t output_cap, char *err, size_t err_cap)
{
	struct db_env env;
	if (make_env(db, &env) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "pgpass path too long");
	struct proc *p;
	int rc = proc_start(&p, argv, env.list, timeout_ms > 0 ? timeout_ms : 1, err, err_cap);
	if (rc < 0)
		return rc;
	while (proc_poll(p, 1000) == -EINPROGRESS)
		;
	if (output && output_cap > 0) {
		const char *o = proc_output(p);
		size_t n = strlen(o);
		if (n >= output_cap)
			n = output_cap - 1;
		memcpy(output, o, n);
		output[n] = '\0';
	}
	rc = 0;
	if (!proc_ok(p))
		rc = command_error(base_name(argv[0]), proc_get_result(p), proc_last_line(p), err,
				   err_cap);
	proc_free(p);
	return rc;
}

int db_task_spawn(struct db *db, const char *const argv[], char *err, size_t err_cap)
{
	return db_task_spawn_timeout(db, argv, db->opts.task_timeout_ms, err, err_cap);
}

int db_task_spawn_timeout(struct db *db, const char *const argv[], int64_t timeout_ms, char *err,
			  size_t err_cap)
{
	struct db_env env;
	if (make_env(db, &env) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "pgpass path too long");
	proc_free(db->task.proc);
	db->task.proc = NULL;
	int rc = proc_start(&db->task.proc, argv, env.list, timeout_ms, err, err_cap);
	if (rc < 0)
		return rc;
	if (buf_copy(db->task.command, sizeof(db->task.command), base_name(argv[0])) != 0)
		db->task.command[0] = '\0';
	db->task.step_started_ms = clock_mono_ms();
	return -EINPROGRESS;
}

int db_task_reap(struct db *db, char *err, size_t err_cap)
{
	struct proc *p = db->task.proc;
	if (!p)
		return err_fail(err, err_cap, -EINVAL, "no command to reap");
	int rc = 0;
	if (!proc_ok(p))
		rc = command_error(db->task.command, proc_get_result(p), proc_last_line(p), err,
				   err_cap);
	proc_free(p);
	db->task.proc = NULL;
	return rc;
}

/* Escapes ':' and '\' as the pgpass format wants. */
static int pgpass_field(struct buf *b, const char *s)
{
	for (const char *c = s; *c; c++) {
		if (*c == '\n' || *c == '\r')
			return -EINVAL;
		if ((*c == ':' || *c == '\\') && buf_puts(b, "\\") < 0)
			return -ENOBUFS;
		if (buf_append(b, c, 1) < 0)
			return -ENOBUFS;
	}
	return 0;
}

int db_write_pgpass(struct db *db, char *err, size_t err_cap)
{
	const struct db_user *users[] = { &db->opts.replication, &db->opts.rewind,
					  &db->opts.superuser };
	struct buf b;
	buf_init(&b, DB_CONNINFO_MAX * 4);
	int rc = 0;
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if (!users[i]->username[0] || !users[i]->password[0])
			continue;
		if (buf_puts(&b, "*:*:*:") < 0 || pgpass_field(&b, users[i]->username) < 0 ||
		    buf_puts(&b, ":") < 0 || pgpass_field(&b, users[i]->password) < 0 ||
		    buf_puts(&b, "\n") < 0) {
			rc = err_fail(err, err_cap, -EINVAL,
				      "could not render the pgpass entry of \"%s\"",
				      users[i]->username);
			goto out_done;
		}
	}
	rc = db_write_file_if_changed(db->opts.pgpass_path, b.data ? b.data : "", 0600, NULL, err,
				      err_cap);
out_done:
	buf_done(&b);
	return rc;
}
