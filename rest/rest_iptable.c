/*
 * rest_iptable.c - connections per client address: entries hashed into REST_IPTABLE_BUCKETS
 * chains, freed entries in a free list, entries never used yet past a mark (so the table costs
 * the pages its clients use). Replaces a scan of every slot on each connect and
 * close (REST_CONNECTION_LIMIT entries, three times per connection, under the server's lock).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rest_iptable.h"
#include "zpages.h"

static unsigned int ip_hash(int family, const unsigned char *addr)
{
	uint32_t h = 2166136261u ^ (uint32_t)family; /* FNV-1a */

	for (int i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h & (REST_IPTABLE_BUCKETS - 1);
}

int rest_iptable_init(struct rest_iptable *t, int capacity)
{
	memset(t, 0, sizeof(*t));
	if (capacity < 1)
		return -EINVAL;
	/* fresh pages (zpages.h): a table of which the clients use one page costs one page */
	t->entries = zpages_calloc((size_t)capacity, sizeof(*t->entries));
	if (!t->entries)
		return -ENOMEM;
	t->capacity = capacity;
	for (int i = 0; i < REST_IPTABLE_BUCKETS; i++)
		t->bucket[i] = -1;
	/* No free list threaded through every entry: that would write the whole table (112 kB
	 * at the default connection limit) up front. Entries are taken in order, then reused. */
	t->free_head = -1;
	t->fresh = 0;
	return 0;
}

void rest_iptable_done(struct rest_iptable *t)
{
	zpages_free(t->entries);
	t->entries = NULL;
}

/* The link that points at the address's entry (the bucket's head or an entry's next). */
static int *find_link(struct rest_iptable *t, int family, const unsigned char *addr)
{
	int *link = &t->bucket[ip_hash(family, addr)];

	while (*link >= 0) {
		struct rest_ipentry *e = &t->entries[*link];

		if (e->family == family && memcmp(e->addr, addr, 16) == 0)
			return link;
		link = &e->next;
	}
	return link;
}

int rest_iptable_count(const struct rest_iptable *t, int family, const unsigned char *addr)
{
	int *link = find_link((struct rest_iptable *)t, family, addr);

	return *link >= 0 ? t->entries[*link].count : 0;
}

bool rest_iptable_add(struct rest_iptable *t, int family, const unsigned char *addr)
{
	int *link = find_link(t, family, addr);
	struct rest_ipentry *e;
	int i;

	if (*link >= 0) {
		t->entries[*link].count++;
		return true;
	}
	if (t->free_head >= 0) {
		i = t->free_head;
		t->free_head = t->entries[i].next;
	} else if (t->fresh < t->capacity) {
		i = t->fresh++;
	} else {
		return false;
	}
	e = &t->entries[i];
	e->family = family;
	memcpy(e->addr, addr, 16);
	e->count = 1;
	e->next = -1;
	*link = i; /* the chain's tail */
	t->used++;
	return true;
}

void rest_iptable_remove(struct rest_iptable *t, int family, const unsigned char *addr)
{
	int *link = find_link(t, family, addr);
	struct rest_ipentry *e;
	int i = *link;

	if (i < 0)
		return;
	e = &t->entries[i];
	if (--e->count > 0)
		return;
	*link = e->next;
	e->next = t->free_head;
	t->free_head = i;
	t->used--;
}
