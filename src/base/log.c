/*
 * log.c - see log.h.
 */
#include "log.h"

#include "enum_name.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

/* The only mutable globals besides signal flags (STYLE.md): the log settings. */
static enum log_level log_threshold = LOG_LEVEL_INFO;
/* A formatted line: a message of up to LOG_LINE_MAX bytes, stamp, level and name, or its JSON
 * object. Most lines fit in LOG_STACK_LINE_BYTES on the caller's stack; the worst case (every
 * message byte escaped as \u00XX, the static fields and field names escaped alike) is formatted
 * on the heap instead: a frame that large would stay resident in the stack of every thread that
 * logs (issue 15). */
#define LOG_STACK_LINE_BYTES (2 * LOG_LINE_MAX)
#define LOG_WORST_LINE_BYTES                                                                   \
	(LOG_LINE_MAX * 6 + LOG_STATIC_MAX * (LOG_FIELD_NAME_MAX + LOG_STATIC_VALUE_MAX) * 6 + \
	 LOG_FIELDS_MAX * LOG_FIELD_NAME_MAX * 6 + 512)

static enum log_format log_fmt = LOG_FORMAT_TEXT;
static char log_name[64];
/* Patroni's JSON layout; no fields = gsha's default layout. */
static struct {
	char attr[LOG_FIELD_NAME_MAX];
	char key[LOG_FIELD_NAME_MAX];
} log_fields[LOG_FIELDS_MAX];
static int log_nfields;
static struct {
	char name[LOG_FIELD_NAME_MAX];
	char value[LOG_STATIC_VALUE_MAX];
} log_static[LOG_STATIC_MAX];
static int log_nstatic;
/* log.dir: the open file, its size, and the rotation limits; the mutex orders writes and
 * rotations across threads. fd -1 = stderr. */
static pthread_mutex_t log_file_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_file_fd = -1;
static long long log_file_size, log_file_limit;
static int log_file_num;
static char log_file_path[LOG_DIR_MAX + sizeof(LOG_FILE_NAME) + 1];

static const char *const field_names[] = {
	"asctime", "created", "levelname",   "levelno", "message",    "msg",
	"name",	   "process", "processName", "thread",	"threadName",
};

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error", [LOG_LEVEL_WARNING] = "warning", [LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info",   [LOG_LEVEL_DEBUG] = "debug",
};

const char *log_level_name(enum log_level level)
{
	return ENUM_NAME(level_names, level);
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} table[] = {
		{ "error", LOG_LEVEL_ERROR },  { "critical", LOG_LEVEL_ERROR },
		{ "fatal", LOG_LEVEL_ERROR },  { "warning", LOG_LEVEL_WARNING },
		{ "warn", LOG_LEVEL_WARNING }, { "notice", LOG_LEVEL_NOTICE },
		{ "info", LOG_LEVEL_INFO },    { "debug", LOG_LEVEL_DEBUG },
	};

	if (s == NULL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcasecmp(s, table[i].name) == 0) {
			*out = table[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

int log_format_parse(const char *s, enum log_format *out)
{
	if (s != NULL && strcasecmp(s, "text") == 0) {
		*out = LOG_FORMAT_TEXT;
		return 0;
	}
	if (s != NULL && strcasecmp(s, "json") == 0) {
		*out = LOG_FORMAT_JSON;
		return 0;
	}
	return -EINVAL;
}

void log_setup(enum log_level level, enum log_format format, const char *name)
{
	log_threshold = level;
	log_fmt = format;
	if (name == NULL || buf_copy(log_name, sizeof(log_name), name) != 0)
		log_name[0] = '\0';
}

bool log_field_known(const char *attr)
{
	for (size_t i = 0; attr != NULL && i < sizeof(field_names) / sizeof(field_names[0]); i++) {
		if (strcmp(attr, field_names[i]) == 0)
			return true;
	}
	return false;
}

int log_set_json_layout(const char *const *attrs, const char *const *keys, int n_fields,
			const char *const *static_names, const char *const *static_values,
			int n_static)
{
	if (n_fields < 0 || n_fields > LOG_FIELDS_MAX || n_static < 0 || n_static > LOG_STATIC_MAX)
		return -EINVAL;
	for (int i = 0; i < n_fields; i++) {
		const char *key = keys && keys[i] && keys[i][0] ? keys[i] : attrs[i];

		if (!log_field_known(attrs[i]) || strlen(key) >= LOG_FIELD_NAME_MAX)
			return -EINVAL;
	}
	for (int i = 0; i < n_static; i++) {
		if (strlen(static_names[i]) >= LOG_FIELD_NAME_MAX ||
		    strlen(static_values[i]) >= LOG_STATIC_VALUE_MAX)
			return -EINVAL;
	}
	for (int i = 0; i < n_fields; i++) {
		const char *key = keys && keys[i] && keys[i][0] ? keys[i] : attrs[i];

		/* lengths were checked above */
		if (buf_copy(log_fields[i].attr, sizeof(log_fields[i].attr), attrs[i]) != 0 ||
		    buf_copy(log_fields[i].key, sizeof(log_fields[i].key), key) != 0)
			return -EINVAL;
	}
	log_nfields = n_fields;
	for (int i = 0; i < n_static; i++) {
		if (buf_copy(log_static[i].name, sizeof(log_static[i].name), static_names[i]) !=
			    0 ||
		    buf_copy(log_static[i].value, sizeof(log_static[i].value), static_values[i]) !=
			    0)
			return -EINVAL;
	}
	log_nstatic = n_static;
	return 0;
}

int log_set_file(const char *dir, long long file_size_bytes, int file_num, char *err, size_t errlen)
{
	char path[sizeof(log_file_path)];
	struct stat st;
	int fd;

	if (dir == NULL) {
		pthread_mutex_lock(&log_file_lock);
		if (log_file_fd >= 0)
			close(log_file_fd);
		log_file_fd = -1;
		pthread_mutex_unlock(&log_file_lock);
		return 0;
	}
	if (dir[0] == '\0' || strlen(dir) > LOG_DIR_MAX || file_size_bytes < 0 || file_num < 0) {
		snprintf(err, errlen, "log.dir, file_size or file_num out of range");
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, LOG_FILE_NAME);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || fstat(fd, &st) != 0) {
		int e = errno;

		snprintf(err, errlen, "could not open log file \"%s\": %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	pthread_mutex_lock(&log_file_lock);
	if (log_file_fd >= 0)
		close(log_file_fd);
	log_file_fd = fd;
	log_file_size = st.st_size;
	log_file_limit = file_size_bytes;
	log_file_num = file_num;
	memcpy(log_file_path, path, sizeof(path));
	pthread_mutex_unlock(&log_file_lock);
	return 0;
}

/* Renames patroni.log.(n-1) to .n down to patroni.log to .1 and opens a new file; called with
 * the lock held. With file_num 0 the file is emptied instead (Python does the same). A failure
 * keeps writing to the old file. */
static void rotate_locked(void)
{
	char from[sizeof(log_file_path) + 16], to[sizeof(log_file_path) + 16];
	int fd;

	if (log_file_num > 0) {
		for (int i = log_file_num - 1; i >= 1; i--) {
			snprintf(from, sizeof(from), "%s.%d", log_file_path, i);
			snprintf(to, sizeof(to), "%s.%d", log_file_path, i + 1);
			(void)rename(from, to); /* a missing older file is fine */
		}
		snprintf(to, sizeof(to), "%s.1", log_file_path);
		if (rename(log_file_path, to) != 0)
			return;
		fd = open(log_file_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	} else {
		fd = open(log_file_path, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		return;
	close(log_file_fd);
	log_file_fd = fd;
	log_file_size = 0;
}

/* Writes one finished line to the log file or stderr. */
static void write_line(const char *data, size_t len)
{
	ssize_t written;

	pthread_mutex_lock(&log_file_lock);
	if (log_file_fd < 0) {
		pthread_mutex_unlock(&log_file_lock);
		/* One write per line; a short write to stderr is not worth a retry loop. */
		written = write(STDERR_FILENO, data, len);
		(void)written;
		return;
	}
	if (log_file_limit > 0 && log_file_size > 0 &&
	    log_file_size + (long long)len > log_file_limit)
		rotate_locked();
	written = write(log_file_fd, data, len);
	if (written > 0)
		log_file_size += written;
	pthread_mutex_unlock(&log_file_lock);
}

bool log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

/* Appends s to the fixed line as a JSON string body, escaping what JSON requires. */
static void json_escape_into(struct buf *line, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(line, "\\%c", *p);
		else if (*p < 0x20)
			buf_printf(line, "\\u%04x", *p);
		else
			buf_append(line, (const char *)p, 1);
	}
}

/* Python's numeric levels; notice sits between info and warning. */
static int python_levelno(enum log_level level)
{
	static const int no[] = { [LOG_LEVEL_ERROR] = 40,
				  [LOG_LEVEL_WARNING] = 30,
				  [LOG_LEVEL_NOTICE] = 25,
				  [LOG_LEVEL_INFO] = 20,
				  [LOG_LEVEL_DEBUG] = 10 };

	return (unsigned)level < sizeof(no) / sizeof(no[0]) ? no[level] : 0;
}

/* Appends "key":value for one record attribute of the configured layout. */
static void json_field(struct buf *line, const char *attr, const char *key, const char *stamp,
		       const struct timespec *ts, enum log_level level, const char *message)
{
	buf_printf(line, "\"");
	json_escape_into(line, key);
	buf_printf(line, "\":");
	if (strcmp(attr, "asctime") == 0) {
		buf_printf(line, "\"%s\"", stamp);
	} else if (strcmp(attr, "created") == 0) {
		buf_printf(line, "%lld.%03ld", (long long)ts->tv_sec, ts->tv_nsec / 1000000);
	} else if (strcmp(attr, "levelname") == 0) {
		buf_printf(line, "\"%s\"", log_level_name(level));
	} else if (strcmp(attr, "levelno") == 0) {
		buf_printf(line, "%d", python_levelno(level));
	} else if (strcmp(attr, "process") == 0 || strcmp(attr, "thread") == 0) {
		buf_printf(line, "%ld", (long)getpid());
	} else if (strcmp(attr, "message") == 0 || strcmp(attr, "msg") == 0) {
		buf_printf(line, "\"");
		json_escape_into(line, message);
		buf_printf(line, "\"");
	} else { /* name, processName, threadName: the program */
		buf_printf(line, "\"gsha\"");
	}
}

/* Appends the JSON object of one line in the configured layout. */
static void json_line(struct buf *line, const char *stamp, const struct timespec *ts,
		      enum log_level level, const char *message)
{
	buf_printf(line, "{");
	if (log_nfields == 0) {
		buf_printf(line, "\"time\":\"%s\",\"level\":\"%s\"", stamp, log_level_name(level));
		if (log_name[0] != '\0') {
			buf_printf(line, ",\"name\":\"");
			json_escape_into(line, log_name);
			buf_printf(line, "\"");
		}
		buf_printf(line, ",\"message\":\"");
		json_escape_into(line, message);
		buf_printf(line, "\"");
	}
	for (int i = 0; i < log_nfields; i++) {
		if (i > 0)
			buf_printf(line, ",");
		json_field(line, log_fields[i].attr, log_fields[i].key, stamp, ts, level, message);
	}
	for (int i = 0; i < log_nstatic; i++) {
		buf_printf(line, ",\"");
		json_escape_into(line, log_static[i].name);
		buf_printf(line, "\":\"");
		json_escape_into(line, log_static[i].value);
		buf_printf(line, "\"");
	}
	buf_printf(line, "}\n");
}

/* Formats one line (text or JSON, as configured) into line. */
static void render_line(struct buf *line, const char *stamp, const struct timespec *ts,
			enum log_level level, const char *message)
{
	if (log_fmt == LOG_FORMAT_JSON)
		json_line(line, stamp, ts, level, message);
	else if (log_name[0] != '\0')
		buf_printf(line, "%s [%s] %s: %s\n", stamp, log_name, log_level_name(level),
			   message);
	else
		buf_printf(line, "%s %s: %s\n", stamp, log_level_name(level), message);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char message[LOG_LINE_MAX];
	char storage[LOG_STACK_LINE_BYTES];
	char *heap;
	char stamp[40];
	struct buf line;
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;

	va_start(ap, fmt);
	n = vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (n < 0)
		memcpy(message, "(unformattable log message)",
		       sizeof("(unformattable log message)"));
	else if ((size_t)n >= sizeof(message))
		memcpy(message + sizeof(message) - 4, "...", 4);

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = (int)strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(stamp + n, sizeof(stamp) - (size_t)n, ".%03ld UTC", ts.tv_nsec / 1000000);

	buf_init_fixed(&line, storage, sizeof(storage));
	render_line(&line, stamp, &ts, level, message);
	if (!line.overflow) {
		write_line(line.data, line.len);
		return;
	}
	/* A line that escapes to more than the stack buffer: again, in a buffer that holds the
	 * worst case. */
	heap = malloc(LOG_WORST_LINE_BYTES);
	if (heap != NULL) {
		buf_init_fixed(&line, heap, LOG_WORST_LINE_BYTES);
		render_line(&line, stamp, &ts, level, message);
		write_line(line.data, line.len);
		free(heap);
		return;
	}
	/* Out of memory: the part that fit, its end replaced by a note that it was cut. */
	{
		static const char cut[] = " (log line cut: out of memory)\n";
		size_t len = strnlen(storage, sizeof(storage));

		if (len < sizeof(cut) - 1)
			len = sizeof(cut) - 1;
		memcpy(storage + len - (sizeof(cut) - 1), cut, sizeof(cut) - 1);
		write_line(storage, len);
	}
}
