/*
 * enum_name.h - the one lookup behind every *_name() function (STYLE.md: each enum gets a
 * *_name() over a designated-initializer table, so every value can be logged).
 */
#ifndef GSHA_ENUM_NAME_H
#define GSHA_ENUM_NAME_H

#include <stddef.h>

/* The name of value in table (count entries); "?" for a value outside the table or one the
 * table leaves unnamed (NULL), so a corrupted value still logs as something. */
const char *enum_name(const char *const *table, size_t count, long value);

/* The value whose name is name in table (count entries), or -EINVAL when no entry has it. */
long enum_value(const char *const *table, size_t count, const char *name);

/* enum_name over an array whose size the compiler knows. */
#define ENUM_NAME(table, value) \
	enum_name((table), sizeof(table) / sizeof((table)[0]), (long)(value))
#define ENUM_VALUE(table, name) enum_value((table), sizeof(table) / sizeof((table)[0]), (name))

#endif
