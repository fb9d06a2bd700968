/*
 * enum_name.c - enum values to names (see enum_name.h).
 */
#include "enum_name.h"

#include <errno.h>
#include <string.h>

const char *enum_name(const char *const *table, size_t count, long value)
{
	if (value < 0 || (size_t)value >= count || table[value] == NULL)
		return "?";
	return table[value];
}

long enum_value(const char *const *table, size_t count, const char *name)
{
	if (name == NULL)
		return -EINVAL;
	for (size_t i = 0; i < count; i++)
		if (table[i] != NULL && strcmp(table[i], name) == 0)
			return (long)i;
	return -EINVAL;
}
