/*
 * buf.h - bounded strings and byte buffers.
 *
 * Every buffer has a named limit; running into it is an error the caller sees, never a silent
 * truncation (STYLE.md). Contents are always NUL-terminated so text can be used in place.
 */
#ifndef GSHA_BUF_H
#define GSHA_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;    /* NUL-terminated contents; owned unless fixed */
	size_t len;    /* bytes used, without the NUL */
	size_t cap;    /* bytes allocated, with room for the NUL */
	size_t limit;  /* most bytes this buffer may ever hold, without the NUL */
	bool fixed;    /* data is caller storage and never reallocated */
	bool overflow; /* an append was refused for the limit; sticky until buf_reset */
};

/* Starts an empty growable buffer that refuses to hold more than limit_bytes. No allocation
 * happens until the first append. Release with buf_done. */
void buf_init(struct buf *b, size_t limit_bytes);

/* Starts an empty buffer over caller storage of cap bytes (cap >= 1); nothing is allocated. */
void buf_init_fixed(struct buf *b, char *storage, size_t cap);

/* Frees a growable buffer's memory; the buffer is left empty and usable. */
void buf_done(struct buf *b);

/* Empties the buffer and clears overflow, keeping its memory. */
void buf_reset(struct buf *b);

/* Appends n bytes. Returns 0, -ENOBUFS past the limit (nothing appended, overflow set), or
 * -ENOMEM. */
int buf_append(struct buf *b, const void *data, size_t n);

/* Appends a NUL-terminated string; as buf_append. */
int buf_puts(struct buf *b, const char *s);

/* Appends printf-style text; as buf_append. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Hands the contents to the caller (free() them) and leaves the buffer empty. Returns NULL on
 * allocation failure. */
char *buf_steal(struct buf *b);

/* Copies src into dst of cap bytes. Returns 0, or -ENAMETOOLONG when it does not fit, in which
 * case dst is left untouched. */
int buf_copy(char *dst, size_t cap, const char *src) __attribute__((warn_unused_result));

/* Copies src into dst of cap bytes, or leaves dst empty when it does not fit: for display fields
 * (REST snapshot, member document) where an absent value is honest and a cut one is not. */
void buf_copy_or_clear(char *dst, size_t cap, const char *src);

/* Formats into dst of cap bytes. Returns 0, or -ENAMETOOLONG when the result does not fit, in
 * which case dst is left as an empty string. */
int buf_format(char *dst, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), warn_unused_result));

#endif
