/* Unit tests for src/chaff/decoy.c: table building, exclusions, identity. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/decoy.h"

static const uint8_t oui[3] = { 0x00, 0x14, 0x22 };

static void
test_range_and_excludes(void **state)
{
	struct decoy_table t;
	struct decoy_prefix ex[] = { { 0xc0000205, 32 }, { 0xc0000210, 28 } };

	assert_int_equal(decoy_table_init(&t, 256, 42, 0), 0);
	/* 192.0.2.0/24: 254 hosts, minus .5 and .16-.31 */
	assert_int_equal(decoy_table_add(&t, 0xc0000200, 24, ex, 2, 0, 0, oui), 0);
	assert_int_equal(decoy_table_seal(&t, NULL), 0);
	assert_int_equal(t.n, 254 - 1 - 16);
	assert_null(decoy_find(&t, 0xc0000200));	/* network */
	assert_null(decoy_find(&t, 0xc00002ff));	/* broadcast */
	assert_null(decoy_find(&t, 0xc0000205));
	assert_null(decoy_find(&t, 0xc0000214));
	assert_non_null(decoy_find(&t, 0xc0000201));
	assert_non_null(decoy_find(&t, 0xc00002fe));
	assert_memory_equal(decoy_find(&t, 0xc0000201)->mac, oui, 3);
	decoy_table_free(&t);
}

static void
test_identity_differs(void **state)
{
	struct decoy_table t;
	struct decoy *a, *b;

	assert_int_equal(decoy_table_init(&t, 4, 7, 0), 0);
	assert_int_equal(decoy_table_add(&t, 0xc6336410, 31, NULL, 0, 0, 0, oui), 0);
	assert_int_equal(decoy_table_seal(&t, NULL), 0);
	assert_int_equal(t.n, 2);
	a = decoy_find(&t, 0xc6336410);
	b = decoy_find(&t, 0xc6336411);
	assert_memory_not_equal(a->mac, b->mac, 6);
	assert_int_not_equal(a->ts_base, b->ts_base);
	/* Own clocks: after 1000 s they differ by the skew, within ±60 ppm. */
	{
		uint64_t now = 1000ULL * 1000000000ULL;
		int64_t da = (int64_t)decoy_clock_ns(&t, a, now) - (int64_t)now;

		assert_true(da > -61000000 && da < 61000000);
	}
	assert_true(sizeof(struct decoy) <= 64);
	decoy_table_free(&t);
}

static void
test_caps_and_duplicates(void **state)
{
	struct decoy_table t;
	uint32_t dup = 0;

	assert_int_equal(decoy_table_init(&t, 3, 1, 0), 0);
	assert_int_equal(decoy_table_add(&t, 0xc0000200, 24, NULL, 0, 0, 0, oui), -ENOSPC);
	decoy_table_free(&t);
	assert_int_equal(decoy_table_init(&t, 8, 1, 0), 0);
	assert_int_equal(decoy_table_add(&t, 0xc0000201, 32, NULL, 0, 0, 0, oui), 0);
	assert_int_equal(decoy_table_add(&t, 0xc0000201, 32, NULL, 0, 1, 0, oui), 0);
	assert_int_equal(decoy_table_seal(&t, &dup), -EEXIST);
	assert_int_equal(dup, 0xc0000201);
	decoy_table_free(&t);
	decoy_table_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_and_excludes),
		cmocka_unit_test(test_identity_differs),
		cmocka_unit_test(test_caps_and_duplicates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
