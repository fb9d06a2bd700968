/*
 * Tests for the per-address connection counts (rest_iptable.c): counts go up and down per
 * address and family, an entry is freed at 0 and reused, removal from the middle of a chain
 * keeps the others, a full table refuses new addresses (and takes them again once one leaves).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "rest_iptable.h"

/* More distinct addresses than buckets, so chains form. */
#define MANY (3 * REST_IPTABLE_BUCKETS)

static void v4(unsigned char addr[16], uint32_t n)
{
	memset(addr, 0, 16);
	addr[0] = 10;
	addr[1] = (unsigned char)(n >> 16);
	addr[2] = (unsigned char)(n >> 8);
	addr[3] = (unsigned char)n;
}

static void test_counts_per_address_and_family(void **state)
{
	struct rest_iptable t;
	unsigned char a[16], b[16];

	(void)state;
	assert_int_equal(rest_iptable_init(&t, 8), 0);
	v4(a, 1);
	v4(b, 2);
	assert_true(rest_iptable_add(&t, AF_INET, a));
	assert_true(rest_iptable_add(&t, AF_INET, a));
	assert_true(rest_iptable_add(&t, AF_INET, b));
	assert_true(rest_iptable_add(&t, AF_INET6, a)); /* same bytes, other family */
	assert_int_equal(rest_iptable_count(&t, AF_INET, a), 2);
	assert_int_equal(rest_iptable_count(&t, AF_INET, b), 1);
	assert_int_equal(rest_iptable_count(&t, AF_INET6, a), 1);
	assert_int_equal(t.used, 3);
	rest_iptable_remove(&t, AF_INET, a);
	assert_int_equal(rest_iptable_count(&t, AF_INET, a), 1);
	rest_iptable_remove(&t, AF_INET, a);
	assert_int_equal(rest_iptable_count(&t, AF_INET, a), 0);
	assert_int_equal(t.used, 2);
	rest_iptable_remove(&t, AF_INET, a); /* unknown now: ignored */
	assert_int_equal(rest_iptable_count(&t, AF_INET, b), 1);
	rest_iptable_done(&t);
}

static void test_chains_survive_removal_in_any_order(void **state)
{
	static struct rest_iptable t;
	unsigned char a[16];

	(void)state;
	assert_int_equal(rest_iptable_init(&t, MANY), 0);
	for (uint32_t n = 0; n < MANY; n++) {
		v4(a, n);
		for (uint32_t k = 0; k <= n % 3; k++)
			assert_true(rest_iptable_add(&t, AF_INET, a));
	}
	assert_int_equal(t.used, MANY);
	/* drop every other address entirely, from chain heads, middles and tails alike */
	for (uint32_t n = 0; n < MANY; n += 2) {
		v4(a, n);
		for (uint32_t k = 0; k <= n % 3; k++)
			rest_iptable_remove(&t, AF_INET, a);
	}
	for (uint32_t n = 0; n < MANY; n++) {
		v4(a, n);
		assert_int_equal(rest_iptable_count(&t, AF_INET, a), n % 2 ? (int)(n % 3) + 1 : 0);
	}
	assert_int_equal(t.used, MANY / 2);
	rest_iptable_done(&t);
}

static void test_full_table_refuses_until_an_entry_frees(void **state)
{
	struct rest_iptable t;
	unsigned char a[16];

	(void)state;
	assert_int_equal(rest_iptable_init(&t, 4), 0);
	for (uint32_t n = 0; n < 4; n++) {
		v4(a, n);
		assert_true(rest_iptable_add(&t, AF_INET, a));
	}
	v4(a, 99);
	assert_false(rest_iptable_add(&t, AF_INET, a));
	assert_int_equal(rest_iptable_count(&t, AF_INET, a), 0);
	v4(a, 0);
	assert_true(rest_iptable_add(&t, AF_INET, a)); /* a known address still counts */
	rest_iptable_remove(&t, AF_INET, a);
	rest_iptable_remove(&t, AF_INET, a);
	v4(a, 99);
	assert_true(rest_iptable_add(&t, AF_INET, a));
	assert_int_equal(rest_iptable_count(&t, AF_INET, a), 1);
	rest_iptable_done(&t);
}

/* The table costs the entries its clients use: a freed entry is taken again before one never
 * used, and entries past the mark stay unwritten (zero, as calloc left them). */
static void test_churn_reuses_entries_and_leaves_the_rest_unwritten(void **state)
{
	static const struct rest_ipentry zero;
	struct rest_iptable t;
	unsigned char a[16], b[16];

	(void)state;
	assert_int_equal(rest_iptable_init(&t, 64), 0);
	for (uint32_t n = 0; n < 1000; n++) {
		v4(a, n);
		v4(b, n + 5000);
		assert_true(rest_iptable_add(&t, AF_INET, a));
		assert_true(rest_iptable_add(&t, AF_INET6, b));
		rest_iptable_remove(&t, AF_INET, a);
		rest_iptable_remove(&t, AF_INET6, b);
	}
	assert_int_equal(t.used, 0);
	assert_int_equal(t.fresh, 2);
	for (int i = t.fresh; i < t.capacity; i++)
		assert_memory_equal(&t.entries[i], &zero, sizeof(zero));
	rest_iptable_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_per_address_and_family),
		cmocka_unit_test(test_chains_survive_removal_in_any_order),
		cmocka_unit_test(test_full_table_refuses_until_an_entry_frees),
		cmocka_unit_test(test_churn_reuses_entries_and_leaves_the_rest_unwritten),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
