/*
 * name.c - member names (see name.h).
 */
#include "name.h"

#include <errno.h>
#include <string.h>

static int check(const char *s)
{
	size_t n;

	if (s == NULL || s[0] == '\0')
		return -EINVAL;
	n = strnlen(s, MEMBER_NAME_MAX);
	if (n > MEMBER_NAME_LEN)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -EINVAL;
	return 0;
}

bool member_name_valid(const char *s)
{
	return check(s) == 0;
}

int member_name_copy(char out[static MEMBER_NAME_MAX], const char *s)
{
	int rc = check(s);

	if (rc == 0)
		memcpy(out, s, strlen(s) + 1);
	return rc;
}
