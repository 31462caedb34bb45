/* Unit tests for engine/sketch: exact counts under capacity, heavy hitters
 * found under a flood of unique (spoofed) keys, bounded size, reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine/detect/sketch.h"

static void
test_rejects_bad_capacity(void **state)
{
	struct sketch *s = NULL;

	assert_int_not_equal(sketch_new(0, &s), 0);
	assert_int_not_equal(sketch_new(1u << 30, &s), 0);
	assert_null(s);
}

static void
test_exact_under_capacity(void **state)
{
	struct sketch *s;
	struct sketch_item top[8];
	uint32_t key;

	assert_int_equal(sketch_new(16, &s), 0);
	for (key = 1; key <= 5; key++)
		sketch_add(s, &key, sizeof(key), key * 10);
	key = 2;
	sketch_add(s, &key, sizeof(key), 100);
	assert_int_equal(sketch_size(s), 5);
	assert_int_equal(sketch_total(s), 150 + 100);
	assert_int_equal(sketch_top(s, top, 8), 5);
	memcpy(&key, top[0].key, sizeof(key));
	assert_int_equal(key, 2);
	assert_int_equal(top[0].count, 120);
	assert_int_equal(top[0].err, 0);
	assert_true(top[1].count >= top[2].count);
	sketch_free(s);
}

/* A few real heavy hitters hidden in a million-key spoofed flood: the
 * heavy hitters must come out on top with bounded memory. */
static void
test_heavy_hitters_under_spoofing(void **state)
{
	struct sketch *s;
	struct sketch_item top[3];
	uint64_t x = 88172645463325252ULL;
	unsigned found = 0;

	assert_int_equal(sketch_new(64, &s), 0);
	for (uint32_t i = 0; i < 1000000; i++) {
		uint32_t key;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (i % 10 < 3) {
			key = 0xc0000200u + (i % 10);	/* three targets, 10 % each */
		} else {
			key = (uint32_t)x | 0x80000000u;	/* random spoofed source */
		}
		sketch_add(s, &key, sizeof(key), 1);
	}
	assert_int_equal(sketch_size(s), 64);
	assert_int_equal(sketch_top(s, top, 3), 3);
	for (unsigned i = 0; i < 3; i++) {
		uint32_t key;

		memcpy(&key, top[i].key, sizeof(key));
		if (key >= 0xc0000200u && key <= 0xc0000202u)
			found++;
		/* the guaranteed part (count - err) is at least the true weight's lower bound */
		assert_true(top[i].count - top[i].err <= 100000);
		assert_true(top[i].count >= 100000);
	}
	assert_int_equal(found, 3);
	sketch_free(s);
}

static void
test_reset_and_ignored_input(void **state)
{
	struct sketch *s;
	struct sketch_item top[1];
	uint8_t longkey[40] = { 1 };

	assert_int_equal(sketch_new(2, &s), 0);
	sketch_add(s, longkey, 0, 5);
	sketch_add(s, longkey, 1, 0);
	assert_int_equal(sketch_size(s), 0);
	sketch_add(s, longkey, sizeof(longkey), 3);	/* cut to SKETCH_KEY_MAX */
	assert_int_equal(sketch_top(s, top, 1), 1);
	assert_int_equal(top[0].key_len, SKETCH_KEY_MAX);
	sketch_reset(s);
	assert_int_equal(sketch_size(s), 0);
	assert_int_equal(sketch_total(s), 0);
	assert_int_equal(sketch_top(s, top, 1), 0);
	sketch_free(s);
	sketch_free(NULL);
}

/* Evictions must keep the index consistent: every held key is findable
 * (adding it again must not create a duplicate). */
static void
test_eviction_keeps_index(void **state)
{
	struct sketch *s;
	struct sketch_item top[8];

	assert_int_equal(sketch_new(8, &s), 0);
	for (uint32_t round = 0; round < 200; round++)
		for (uint32_t k = 0; k < 12; k++) {
			uint32_t key = k * 2654435761u + round % 3;

			sketch_add(s, &key, sizeof(key), 1 + k % 4);
		}
	assert_int_equal(sketch_top(s, top, 8), 8);
	for (unsigned i = 0; i < 8; i++)
		for (unsigned j = i + 1; j < 8; j++)
			assert_false(top[i].key_len == top[j].key_len &&
			    memcmp(top[i].key, top[j].key, top[i].key_len) == 0);
	sketch_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rejects_bad_capacity),
		cmocka_unit_test(test_exact_under_capacity),
		cmocka_unit_test(test_heavy_hitters_under_spoofing),
		cmocka_unit_test(test_reset_and_ignored_input),
		cmocka_unit_test(test_eviction_keeps_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
