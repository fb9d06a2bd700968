/*
 * log.c - see log.h.
 */
#include "log.h"

#include "enum_name.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

/* The only mutable globals besides signal flags (STYLE.md): the log settings. */
static enum log_level log_threshold = LOG_LEVEL_INFO;
static enum log_format log_fmt = LOG_FORMAT_TEXT;
static char log_name[64];

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

void log_msg(enum log_level level, const char *fmt, ...)
{
	char message[LOG_LINE_MAX];
	/* Worst case: every message byte escaped as \u00XX, plus stamp, level and name. */
	char storage[LOG_LINE_MAX * 6 + 512];
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
	if (log_fmt == LOG_FORMAT_JSON) {
		buf_printf(&line, "{\"time\":\"%s\",\"level\":\"%s\"", stamp,
			   log_level_name(level));
		if (log_name[0] != '\0') {
			buf_printf(&line, ",\"name\":\"");
			json_escape_into(&line, log_name);
			buf_printf(&line, "\"");
		}
		buf_printf(&line, ",\"message\":\"");
		json_escape_into(&line, message);
		buf_printf(&line, "\"}\n");
	} else if (log_name[0] != '\0') {
		buf_printf(&line, "%s [%s] %s: %s\n", stamp, log_name, log_level_name(level),
			   message);
	} else {
		buf_printf(&line, "%s %s: %s\n", stamp, log_level_name(level), message);
	}

	/* One write per line; a short write to stderr is not worth a retry loop here. */
	ssize_t written = write(STDERR_FILENO, line.data, line.len);
	(void)written;
}
