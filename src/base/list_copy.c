/*
 * list_copy.c - copying a struct of fixed-size lists only as far as their counts go
 * (list_copy.h).
 */
#include "list_copy.h"

#include <string.h>

void list_copy(void *dst, const void *src, size_t size, const struct list_span *spans, size_t n)
{
	char *to = dst;
	const char *from = src;
	size_t pos = 0;

	for (size_t i = 0; i < n; i++) {
		int count;
		size_t used, end;

		memcpy(&count, from + spans[i].count, sizeof(count));
		used = count <= 0 ? 0 : (size_t)(count < spans[i].max ? count : spans[i].max);
		end = spans[i].items + used * spans[i].item_size;
		memcpy(to + pos, from + pos, end - pos);
		pos = spans[i].items + (size_t)spans[i].max * spans[i].item_size;
	}
	memcpy(to + pos, from + pos, size - pos);
}
