/*
 * zpages.c - zeroed memory straight from the kernel (zpages.h).
 *
 * Each block is one private anonymous mapping; its first ZPAGES_HEADER bytes hold the mapped
 * length for zpages_free. The header keeps the block aligned as malloc's would be.
 */
#include <stdalign.h>
#include <stdint.h>
#include <sys/mman.h>

#include "zpages.h"

/* room for the mapped length, rounded up so that the block keeps malloc's alignment */
#define ZPAGES_HEADER \
	(alignof(max_align_t) > sizeof(size_t) ? alignof(max_align_t) : sizeof(size_t))

void *zpages_alloc(size_t bytes)
{
	size_t len;
	char *p;

	if (bytes == 0 || bytes > SIZE_MAX / 2)
		return NULL;
	len = bytes + ZPAGES_HEADER;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	*(size_t *)(void *)p = len;
	return p + ZPAGES_HEADER;
}

void *zpages_calloc(size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / 2 / size)
		return NULL;
	return zpages_alloc(nmemb * size);
}

void zpages_free(void *p)
{
	char *base;

	if (!p)
		return;
	base = (char *)p - ZPAGES_HEADER;
	(void)munmap(base, *(size_t *)(void *)base);
}
