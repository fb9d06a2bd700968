/*
 * list_copy.h - copying a struct of fixed-size lists only as far as their counts go (issue 15).
 *
 * A struct sized for the worst case costs only the pages written: a calloc'ed destination whose
 * lists are copied up to their counts leaves the rest of them untouched, and never resident.
 */
#ifndef GSHA_LIST_COPY_H
#define GSHA_LIST_COPY_H

#include <stddef.h>

/* One list inside a struct: where its items start, the size of one, where its int count is, and
 * how many items fit. */
struct list_span {
	size_t items;
	size_t item_size;
	size_t count;
	int max;
};

/* The list_span of TYPE's array ITEMS counted by COUNT, of at most MAX items. */
#define LIST_SPAN(type, items_, count_, max_)                                                   \
	{                                                                                       \
		offsetof(type, items_), sizeof(((type *)0)->items_[0]), offsetof(type, count_), \
			max_                                                                    \
	}

/* Copies the size bytes of src to dst, except the items of each list past its count (a count
 * outside 0..max is taken as 0 or max). spans must be in the order of their items' offsets. */
void list_copy(void *dst, const void *src, size_t size, const struct list_span *spans, size_t n);

#endif
