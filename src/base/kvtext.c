/*
 * kvtext.c - "Label: value" lines (see kvtext.h).
 */
#include "kvtext.h"

#include <string.h>

bool kvtext_value(const char *text, const char *label, char *out, size_t cap)
{
	size_t n = strlen(label);

	for (const char *line = text; line != NULL && *line != '\0';
	     line = strchr(line, '\n'), line = line != NULL ? line + 1 : NULL) {
		const char *v;
		size_t len;

		if (strncmp(line, label, n) != 0 || line[n] != ':')
			continue;
		v = line + n + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		len = strcspn(v, "\r\n");
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= cap)
			return false;
		memcpy(out, v, len);
		out[len] = '\0';
		return true;
	}
	return false;
}
