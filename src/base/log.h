/*
 * log.h - leveled logging to stderr in PostgreSQL's message style.
 *
 * One line per message, written with a single write(2) so lines from the HTTP threads and the
 * HA loop never interleave. Text by default, one JSON object per line when asked.
 * Leaf modules do not call this above debug (STYLE.md): they return codes and messages.
 */
#ifndef GSHA_LOG_H
#define GSHA_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

enum log_format {
	LOG_FORMAT_TEXT,
	LOG_FORMAT_JSON,
};

/* The longest line written; a longer message is cut and marked with "..." (a log line, not data). */
#define LOG_LINE_MAX 4096

/* Sets the level below which messages are dropped, the format and the node name shown. */
void log_setup(enum log_level level, enum log_format format, const char *name);

/* Patroni's JSON log layout (log.format as a list, log.static_fields). */
#define LOG_FIELDS_MAX 16     /* fields named in log.format's list */
#define LOG_STATIC_MAX 16     /* log.static_fields entries */
#define LOG_FIELD_NAME_MAX 64 /* a field's name in the output, or a record attribute */
#define LOG_STATIC_VALUE_MAX 256

/* True when attr is a Python LogRecord attribute gsha can write: asctime, created, levelname,
 * levelno, message, msg, name, process, processName, thread, threadName. */
bool log_field_known(const char *attr);

/* Sets the JSON layout: each of the n_fields attributes (log_field_known) is written under the
 * matching keys[i] (or its own name when keys[i] is NULL or ""), in order, instead of gsha's
 * default fields; n_fields 0 keeps the default (time, level, name, message). The n_static
 * name/value pairs follow as strings. Copies everything. Returns 0, or -EINVAL when a count is
 * over its limit, a name is too long or an attribute is unknown (nothing is changed then).
 * Call before threads start. */
int log_set_json_layout(const char *const *attrs, const char *const *keys, int n_fields,
			const char *const *static_names, const char *const *static_values,
			int n_static) __attribute__((warn_unused_result));

/* Patroni's log.dir: the file's name in the directory, and Patroni's rotation defaults. */
#define LOG_FILE_NAME "patroni.log"
#define LOG_FILE_SIZE_DEFAULT 25000000 /* bytes of patroni.log that trigger a rotation */
#define LOG_FILE_NUM_DEFAULT 4	       /* rotated files kept: patroni.log.1 .. .4 */
#define LOG_DIR_MAX 1024

/* Sends every line to dir/patroni.log instead of stderr, as Patroni's RotatingFileHandler: a
 * line that would take the file past file_size_bytes first renames patroni.log to .1 (.1 to .2,
 * ... up to file_num; the oldest goes). Safe from every thread. dir NULL goes back to stderr.
 * Returns 0, or a negative errno with a message in err when the file cannot be opened (the
 * current destination stays then). */
int log_set_file(const char *dir, long long file_size_bytes, int file_num, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Writes one message at level; fmt is printf-style. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Returns true when a message at level would be written (to skip building expensive ones). */
bool log_enabled(enum log_level level);

/* Returns "error", "warning", "notice", "info" or "debug". */
const char *log_level_name(enum log_level level);

/* Parses a level name, case-insensitively; Patroni's "WARN" and "CRITICAL" are accepted too.
 * Returns 0, or -EINVAL and leaves *out untouched. */
int log_level_parse(const char *s, enum log_level *out) __attribute__((warn_unused_result));

/* Parses "text" or "json". Returns 0, or -EINVAL and leaves *out untouched. */
int log_format_parse(const char *s, enum log_format *out) __attribute__((warn_unused_result));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
