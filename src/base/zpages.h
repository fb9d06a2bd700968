/*
 * zpages.h - zeroed memory straight from the kernel, for the worst-case structs (issue 15).
 *
 * A struct sized for the worst case costs only the pages written, if its pages are fresh:
 * calloc gives fresh pages only when no free chunk in the heap is large enough, and otherwise
 * clears a hole left by earlier frees with memset, making every page of the struct resident
 * (a 112 kB table of which one page is used, a 100 kB snapshot of which 28 kB are). These
 * functions map fresh anonymous pages whatever the heap holds, and return them at once.
 */
#ifndef GSHA_ZPAGES_H
#define GSHA_ZPAGES_H

#include <stddef.h>

/* bytes of zeroed memory, aligned for any type, resident only as far as written; NULL when
 * out of memory (or bytes is 0 or too large). Free it with zpages_free, never with free(). */
void *zpages_alloc(size_t bytes) __attribute__((warn_unused_result, malloc));

/* nmemb items of size bytes, as calloc takes them: NULL on overflow too. */
void *zpages_calloc(size_t nmemb, size_t size) __attribute__((warn_unused_result, malloc));

/* Returns the pages of a zpages_alloc'ed p to the system. NULL is accepted. */
void zpages_free(void *p);

#endif
