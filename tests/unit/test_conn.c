/* Unit tests for src/chaff/conn.c: the bounded connection table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/conn.h"

/* A fixed table key, so every run probes the same slots. */
static const struct hash_key *
test_key(uint8_t b)
{
	static struct hash_key k;
	uint8_t bytes[HASH_KEY_BYTES];

	memset(bytes, b, sizeof(bytes));
	hash_key_set(&k, bytes);
	return &k;
}

static void
test_add_find_del(void **state)
{
	struct conn_table t;
	struct conn ev, *c;
	bool evicted;

	assert_int_equal(conn_table_init(&t, 64, test_key(9)), 0);
	c = conn_add(&t, 1, 1000, 2, 80, 5, &ev, &evicted);
	assert_false(evicted);
	assert_ptr_equal(conn_find(&t, 1, 1000, 2, 80), c);
	assert_null(conn_find(&t, 1, 1001, 2, 80));
	assert_int_equal(c->session, -1);
	conn_del(&t, c);
	assert_null(conn_find(&t, 1, 1000, 2, 80));
	assert_int_equal(t.used, 0);
	conn_table_free(&t);
}

static void
test_flood_is_bounded(void **state)
{
	struct conn_table t;
	struct conn ev;
	bool evicted;
	size_t evictions = 0;

	/* A SYN flood of 100,000 keys into 16 slots: memory stays, entries recycle. */
	assert_int_equal(conn_table_init(&t, 16, test_key(3)), 0);
	for (uint32_t i = 0; i < 100000; i++) {
		conn_add(&t, i, (uint16_t)i, 7, 80, i, &ev, &evicted);
		evictions += evicted;
	}
	assert_true(t.used <= 16);
	assert_true(evictions >= 100000 - 16);
	/* The newest key is findable. */
	assert_non_null(conn_find(&t, 99999, (uint16_t)99999, 7, 80));
	conn_table_free(&t);
}

static void
test_expire(void **state)
{
	struct conn_table t;
	struct conn ev;
	bool evicted;

	assert_int_equal(conn_table_init(&t, 64, test_key(3)), 0);
	conn_add(&t, 1, 1, 2, 2, 100, &ev, &evicted);
	conn_add(&t, 1, 2, 2, 2, 900, &ev, &evicted);
	conn_expire(&t, 1000, 500, NULL, NULL);
	assert_null(conn_find(&t, 1, 1, 2, 2));
	assert_non_null(conn_find(&t, 1, 2, 2, 2));
	conn_table_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_del),
		cmocka_unit_test(test_flood_is_bounded),
		cmocka_unit_test(test_expire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
