/*
 * rest_iptable.h - open connections counted per client address (rest_iptable.c), for the
 * server's per-address limit: a fixed table with hashed chains, so a lookup touches a few
 * entries whatever the number of clients. Not thread-safe: the server holds its lock.
 */
#ifndef GSHA_REST_IPTABLE_H
#define GSHA_REST_IPTABLE_H

#include <stdbool.h>

/* Buckets (a power of two): chains stay a few entries long at any plausible client count. */
#define REST_IPTABLE_BUCKETS 1024

struct rest_ipentry {
	int family;
	unsigned char addr[16];
	int count;
	int next; /* index in the bucket's chain or the free list; -1 ends */
};

struct rest_iptable {
	struct rest_ipentry *entries; /* calloc'ed; an entry is first written when first used */
	int capacity;
	int used;
	int free_head; /* entries freed again; -1: none */
	int fresh;     /* entries [fresh, capacity) have never been used */
	int bucket[REST_IPTABLE_BUCKETS];
};

/* Room for capacity distinct addresses. Returns 0 or -ENOMEM. */
int rest_iptable_init(struct rest_iptable *t, int capacity) __attribute__((warn_unused_result));
void rest_iptable_done(struct rest_iptable *t);

/* Connections open from the address (addr: 4 or 16 bytes, zero-padded to 16). */
int rest_iptable_count(const struct rest_iptable *t, int family, const unsigned char *addr);

/* One more connection from the address. false when the table is full (not counted). */
bool rest_iptable_add(struct rest_iptable *t, int family, const unsigned char *addr);

/* One connection fewer; the address's entry is freed at 0. Unknown addresses are ignored. */
void rest_iptable_remove(struct rest_iptable *t, int family, const unsigned char *addr);

#endif
