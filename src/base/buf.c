/*
 * buf.c - see buf.h.
 */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t limit_bytes)
{
	*b = (struct buf){ .limit = limit_bytes };
}

void buf_init_fixed(struct buf *b, char *storage, size_t cap)
{
	*b = (struct buf){ .data = storage, .cap = cap, .limit = cap - 1, .fixed = true };
	storage[0] = '\0';
}

void buf_done(struct buf *b)
{
	if (!b->fixed)
		free(b->data);
	if (b->fixed) {
		b->len = 0;
		b->data[0] = '\0';
	} else {
		b->data = NULL;
		b->len = 0;
		b->cap = 0;
	}
	b->overflow = false;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
	b->overflow = false;
}

/* Makes room for extra more bytes plus the NUL. */
static int buf_reserve(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > b->limit || b->len > b->limit - extra) {
		b->overflow = true;
		return -ENOBUFS;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	if (b->fixed) {
		b->overflow = true;
		return -ENOBUFS;
	}
	cap = b->cap != 0 ? b->cap : 256;
	while (cap < need)
		cap = cap > (size_t)-1 / 2 ? need : cap * 2;
	if (cap > b->limit + 1)
		cap = b->limit + 1;
	p = realloc(b->data, cap);
	if (p == NULL)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *data, size_t n)
{
	int r = buf_reserve(b, n);

	if (r != 0)
		return r;
	if (n > 0)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	r = buf_reserve(b, (size_t)n);
	if (r != 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *buf_steal(struct buf *b)
{
	char *s;

	if (b->fixed) {
		s = strdup(b->data);
		buf_reset(b);
		return s;
	}
	if (b->data == NULL)
		return calloc(1, 1);
	s = b->data;
	*b = (struct buf){ .limit = b->limit };
	return s;
}

int buf_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

void buf_copy_or_clear(char *dst, size_t cap, const char *src)
{
	if (buf_copy(dst, cap, src) != 0 && cap > 0)
		dst[0] = '\0';
}

int buf_format(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap) {
		if (cap > 0)
			dst[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}
