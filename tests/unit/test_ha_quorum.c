/*
 * test_ha_quorum.c - ha_quorum_resolve() against Patroni 4.1.4's QuorumStateResolver: cases from
 * Patroni's tests/test_quorum.py, and 640 random states whose transitions Patroni itself
 * produced (fixtures/quorum/patroni-4.1.4.txt; the port matched it on 80,000 such states).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "src/core/ha_quorum.h"

/* Names are single letters in the cases: "bcd" is {b, c, d}, "-" the empty set. */
static void letters(const char *s, struct ha_names *n)
{
	memset(n, 0, sizeof(*n));
	for (const char *p = s; *p != '\0' && *p != '-'; p++) {
		n->name[n->count][0] = *p;
		n->count++;
	}
}

static void render_names(const struct ha_names *n, char *out)
{
	int k = 0;

	for (int i = 0; i < n->count; i++)
		out[k++] = n->name[i][0];
	out[k] = '\0';
	for (int i = 1; i < k; i++)
		for (int j = i; j > 0 && out[j] < out[j - 1]; j--) {
			char t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	if (k == 0)
		memcpy(out, "-", 2);
}

/* Resolves one state written as the fixture writes it; the transitions as the fixture does. */
static void resolve(const char *in, char *out, size_t cap)
{
	char l[8], v[40], s[40], a[40], lw[8];
	int q, ns, nc, sw, n;
	struct ha_quorum_state st;
	struct ha_quorum_step steps[HA_QUORUM_STEPS_MAX];
	char err[200];
	size_t used = 0;

	memset(&st, 0, sizeof(st));
	assert_int_equal(
		sscanf(in, "%7s %d %39s %d %39s %d %39s %d %7s", l, &q, v, &ns, s, &nc, a, &sw, lw),
		9);
	snprintf(st.leader, sizeof(st.leader), "%s", l);
	st.quorum = q;
	letters(v, &st.voters);
	st.numsync = ns;
	letters(s, &st.sync);
	st.numsync_confirmed = nc;
	letters(a, &st.active);
	st.sync_wanted = sw;
	snprintf(st.leader_wanted, sizeof(st.leader_wanted), "%s", lw);
	if (ha_quorum_resolve(&st, steps, HA_QUORUM_STEPS_MAX, &n, err, sizeof(err)) != 0) {
		assert_int_equal(n, 0);
		assert_true(err[0] != '\0');
		snprintf(out, cap, "ERR");
		return;
	}
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		char names[HA_MEMBERS_MAX + 2];

		render_names(&steps[i].names, names);
		used += (size_t)snprintf(out + used, cap - used, "%s:%s:%d:%s ",
					 steps[i].type == HA_QUORUM_SYNC  ? "sync"
					 : steps[i].type == HA_QUORUM_KEY ? "quorum"
									  : "restart",
					 steps[i].leader, steps[i].num, names);
		assert_true(used < cap);
	}
}

static void expect(const char *in, const char *want)
{
	char got[1024];

	resolve(in, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("state \"%s\": got \"%s\", Patroni gives \"%s\"", in, got, want);
}

/* tests/test_quorum.py test_1111: a leader alone gains standbys. */
static void test_quorum_leader_alone_adds_standbys(void **state)
{
	(void)state;
	expect("a 0 - 0 - 0 b 2 a", "sync:a:1:b restart:a:0:- ");
	expect("a 0 - 1 b 1 b 2 a", "quorum:a:0:b ");
	expect("a 0 - 0 - 0 bcde 2 a", "sync:a:2:bcde restart:a:0:- ");
	expect("a 0 - 2 bcde 1 bcde 2 a", "quorum:a:3:bcde ");
}

/* tests/test_quorum.py test_1222: a two-node cluster grows, shrinks and swaps its standby. */
static void test_quorum_two_node_cluster(void **state)
{
	(void)state;
	expect("a 0 b 1 b 1 b 2 a", "");
	expect("a 0 b 1 b 1 bc 1 a", "quorum:a:1:bc sync:a:1:bc ");
	expect("a 0 b 1 b 1 bc 2 a", "sync:a:2:bc quorum:a:1:bc ");
	expect("a 1 bc 2 bc 2 bc 2 a", "quorum:a:0:bc ");
	expect("a 0 b 1 b 1 bcde 2 a", "sync:a:2:bc quorum:a:3:bcde sync:a:2:bcde ");
	expect("a 3 bcde 2 bcde 3 bcde 2 a", "quorum:a:2:bcde ");
	expect("a 0 b 1 b 0 - 1 a", "quorum:a:0:- sync:a:0:- ");
	expect("a 0 b 1 b 0 c 1 a", "quorum:a:0:- sync:a:1:c restart:a:0:- ");
	expect("a 0 - 1 c 1 c 1 a", "quorum:a:0:c ");
}

/* After a failover (the key still names b, with voters a and c, quorum 1; a promoted with an
 * empty list): a lists the old leader and c, takes the key with b as a voter, then, with c
 * streaming, drops b. Without any standby streaming yet it stops after taking the key. */
static void test_quorum_failover_takes_over_the_key(void **state)
{
	(void)state;
	expect("b 1 ac 0 - 0 c 1 a", "sync:b:1:bc quorum:a:1:bc sync:a:1:c quorum:a:0:c ");
	expect("b 1 ac 0 - 0 - 1 a", "sync:b:1:bc quorum:a:1:bc ");
}

static void test_quorum_matches_patroni_on_random_states(void **state)
{
	char line[512];
	int cases = 0;
	FILE *f = fopen(QUORUM_FIXTURE, "r");

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *bar = strchr(line, '|');
		size_t len;

		if (line[0] == '#' || bar == NULL)
			continue;
		*bar = '\0';
		len = strlen(bar + 1);
		while (len > 0 && bar[len] == '\n')
			bar[len--] = '\0';
		expect(line, bar + 1);
		cases++;
	}
	fclose(f);
	assert_true(cases >= 600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quorum_leader_alone_adds_standbys),
		cmocka_unit_test(test_quorum_two_node_cluster),
		cmocka_unit_test(test_quorum_failover_takes_over_the_key),
		cmocka_unit_test(test_quorum_matches_patroni_on_random_states),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
