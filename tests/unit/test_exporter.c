/* Unit tests for collect/exporter: the table an attacker feeds — the
 * per-sender cap, idle and least-recently-seen eviction, refusals counted
 * per reason with the sender, and the keyed index staying consistent through
 * evictions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "collect/exporter.h"
#include "common/limits.h"

#define SEC 1000000000ull

static struct exporter_table *
table(void)
{
	static const uint8_t k[HASH_KEY_BYTES] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	struct hash_key key;
	struct exporter_table *t;

	hash_key_set(&key, k);
	t = exporter_table_new_keyed(&key);
	assert_non_null(t);
	return t;
}

/* 1,024 forged source ids from one address take per_sender slots; the
   rest are refused with the sender named, and a real router still gets in. */
static void
test_sender_cap(void **state)
{
	struct exporter_table *t = table();
	struct ipaddr forger = ipaddr_v4(0xc0000263u), router = ipaddr_v4(0xc6336401u);
	struct exporter_refusals ref;

	for (uint32_t id = 0; id < 1024; id++)
		(void)exporter_get(t, &forger, &forger, id, EXPORTER_NF9, SEC);
	assert_int_equal(exporter_count(t), LIMIT_COLLECT_EXPORTERS_PER_ADDR);
	assert_non_null(exporter_get(t, &router, &router, 0, EXPORTER_NF9, SEC));
	exporter_table_publish(t);
	exporter_table_refusals(t, &ref);
	assert_int_equal(ref.n[EXPORTER_REFUSED_SENDER_CAP], 1024 - LIMIT_COLLECT_EXPORTERS_PER_ADDR);
	assert_true(ipaddr_equal(&ref.last[EXPORTER_REFUSED_SENDER_CAP], &forger));
	/* The known ones are still found. */
	assert_non_null(exporter_get(t, &forger, &forger, 3, EXPORTER_NF9, SEC));
	assert_int_equal(exporter_table_refused(t), 1024 - LIMIT_COLLECT_EXPORTERS_PER_ADDR);
	exporter_table_free(t);
}

/* A full table refuses new keys while everyone is active, then evicts the
   least recently seen once it has been quiet; idle ones expire. */
static void
test_eviction(void **state)
{
	struct exporter_table *t = table();
	struct ipaddr a;
	struct exporter *e;

	for (uint32_t i = 0; i < LIMIT_COLLECT_EXPORTERS; i++) {
		a = ipaddr_v4(0xc6330000u + i);
		assert_non_null(exporter_get(t, &a, &a, 0, EXPORTER_NF5, SEC + i));
	}
	a = ipaddr_v4(0xcb007101u);
	assert_null(exporter_get(t, &a, &a, 0, EXPORTER_NF5, 2 * SEC));
	assert_int_equal(exporter_table_refused(t), 1);
	e = exporter_get(t, &a, &a, 0, EXPORTER_NF5, 2 * SEC + EXPORTER_DEFAULT_QUIET_NS);
	assert_non_null(e);
	assert_int_equal(e->index, 0);	/* the oldest's slot */
	/* The evicted one comes back in the next least recently seen slot. */
	a = ipaddr_v4(0xc6330000u);
	e = exporter_get(t, &a, &a, 0, EXPORTER_NF5, 2 * SEC + EXPORTER_DEFAULT_QUIET_NS);
	assert_non_null(e);
	assert_int_equal(e->index, 1);
	/* Everything but the newcomer has been quiet past the idle limit. */
	exporter_table_expire(t, 3 * SEC + EXPORTER_DEFAULT_QUIET_NS + EXPORTER_DEFAULT_IDLE_NS);
	assert_int_equal(exporter_count(t), 0);
	exporter_table_publish(t);
	exporter_table_expire(t, 2 * SEC + EXPORTER_DEFAULT_QUIET_NS);
	exporter_table_free(t);
}

/* Insertions and evictions in a random order keep every live key findable
   (the backward-shift deletion) and never create a duplicate. */
static void
test_churn(void **state)
{
	struct exporter_table *t = table();
	struct exporter_limits lim = { .per_sender = 4096, .idle_ns = 10 * SEC,
		.evict_quiet_ns = 1 };
	uint64_t now = SEC;
	uint32_t x = 12345;

	exporter_table_set_limits(t, &lim);
	for (int round = 0; round < 20000; round++) {
		struct ipaddr a;
		struct exporter *e;
		uint32_t id;

		x = x * 1103515245u + 12345u;
		a = ipaddr_v4(0xc0000200u + (x >> 24));
		id = (x >> 8) & 0x3ff;
		now += SEC / 100;
		e = exporter_get(t, &a, &a, id, EXPORTER_IPFIX, now);
		if (e == NULL)
			continue;
		assert_int_equal(e->domain, id);
		assert_ptr_equal(exporter_get(t, &a, &a, id, EXPORTER_IPFIX, now), e);
		if (round % 500 == 0)
			exporter_table_expire(t, now);
	}
	for (size_t i = 0; i < LIMIT_COLLECT_EXPORTERS; i++) {
		struct exporter *e = exporter_at(t, i);

		if (e != NULL)
			assert_ptr_equal(exporter_get(t, &e->sender, &e->addr, e->domain, e->proto,
			    now), e);
	}
	exporter_table_free(t);
}

static void
test_refusal_names(void **state)
{
	assert_string_equal(exporter_refusal_name(EXPORTER_REFUSED_NOT_ALLOWED), "not_allowed");
	assert_string_equal(exporter_refusal_name(EXPORTER_REFUSED__COUNT), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sender_cap),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_refusal_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
