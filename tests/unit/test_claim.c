/* Unit tests for src/chaff/claim.c: when an unused address is claimed, and when never. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "chaff/claim.h"

static const uint64_t S = 1000000000ULL;

static const uint64_t W = CLAIM_PROBE_WAIT_NS;

static void
test_claims_after_unanswered_requests(void **state)
{
	static struct claim c;
	struct decoy_prefix ranges[] = { { 0xc0000200, 24 } }, reserved[] = { { 0xc0000201, 32 } };

	claim_init(&c, ranges, 1, reserved, 1, 3, 5 * S, 2);
	assert_int_equal(claim_request(&c, 0xc0000210, 1 * S), CLAIM_WAIT);
	assert_int_equal(claim_request(&c, 0xc0000210, 2 * S), CLAIM_WAIT);
	/* The third request: probe first, claim only at a request after the wait. */
	assert_int_equal(claim_request(&c, 0xc0000210, 3 * S), CLAIM_PROBE);
	assert_int_equal(claim_request(&c, 0xc0000210, 3 * S + W - 1), CLAIM_WAIT);
	assert_int_equal(claim_request(&c, 0xc0000210, 3 * S + W), CLAIM_NOW);
	/* Too slow: three requests spread over more than the window. */
	assert_int_equal(claim_request(&c, 0xc0000211, 1 * S), CLAIM_WAIT);
	assert_int_equal(claim_request(&c, 0xc0000211, 4 * S), CLAIM_WAIT);
	assert_int_equal(claim_request(&c, 0xc0000211, 7 * S), CLAIM_WAIT);
	/* An address that showed itself alive starts over. */
	assert_int_equal(claim_request(&c, 0xc0000212, 1 * S), CLAIM_WAIT);
	assert_int_equal(claim_request(&c, 0xc0000212, 1 * S), CLAIM_WAIT);
	claim_alive(&c, 0xc0000212);
	assert_int_equal(claim_request(&c, 0xc0000212, 2 * S), CLAIM_WAIT);
	/* Reserved and out-of-range addresses: never. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(claim_request(&c, 0xc0000201, S), CLAIM_WAIT);
		assert_int_equal(claim_request(&c, 0xc6336401, S), CLAIM_WAIT);
	}
	/* The cap. */
	assert_int_equal(claim_request(&c, 0xc0000220, S), CLAIM_WAIT);
	assert_int_equal(claim_request(&c, 0xc0000220, S), CLAIM_WAIT);
	assert_int_equal(claim_request(&c, 0xc0000220, S), CLAIM_PROBE);
	assert_int_equal(claim_request(&c, 0xc0000220, S + W), CLAIM_NOW);
	for (int i = 0; i < 5; i++)
		assert_int_equal(claim_request(&c, 0xc0000230, S), CLAIM_WAIT);
	assert_int_equal(c.claimed, 2);
}

/* A live host on a switched segment: its replies to the requests are never
 * seen, but its answer to the probe is, and it is never claimed. */
static void
test_answered_probe_is_never_claimed(void **state)
{
	static struct claim c;
	struct decoy_prefix ranges[] = { { 0xc0000200, 24 } };

	claim_init(&c, ranges, 1, NULL, 0, 3, 5 * S, 8);
	for (int round = 0; round < 4; round++) {
		uint64_t t = (uint64_t)round * 10 * S;

		assert_int_equal(claim_request(&c, 0xc0000240, t + 1), CLAIM_WAIT);
		assert_int_equal(claim_request(&c, 0xc0000240, t + 2), CLAIM_WAIT);
		assert_int_equal(claim_request(&c, 0xc0000240, t + 3), CLAIM_PROBE);
		claim_alive(&c, 0xc0000240);	/* its answer to the probe */
		assert_int_equal(claim_request(&c, 0xc0000240, t + 3 + W), CLAIM_WAIT);
	}
	/* A probe long past the window proves nothing: counting starts over. */
	assert_int_equal(claim_request(&c, 0xc0000250, 1 * S), CLAIM_WAIT);
	assert_int_equal(claim_request(&c, 0xc0000250, 1 * S), CLAIM_WAIT);
	assert_int_equal(claim_request(&c, 0xc0000250, 1 * S), CLAIM_PROBE);
	assert_int_equal(claim_request(&c, 0xc0000250, 60 * S), CLAIM_WAIT);
	assert_int_equal(c.claimed, 0);
}

static void
test_storm_is_bounded(void **state)
{
	static struct claim c;
	struct decoy_prefix ranges[] = { { 0xc0000000, 16 } };

	/* 65,536 distinct targets, one request each: nothing claimed, no growth. */
	claim_init(&c, ranges, 1, NULL, 0, 2, 5 * S, 10);
	for (uint32_t i = 0; i < 65536; i++)
		assert_int_equal(claim_request(&c, 0xc0000000 + i, S + i), CLAIM_WAIT);
}

static void
test_insert_keeps_table_sorted(void **state)
{
	struct decoy_table t;
	static const uint8_t oui[3] = { 0, 0x14, 0x22 };

	assert_int_equal(decoy_table_init(&t, 4, 1, 0), 0);
	assert_int_equal(decoy_table_add(&t, 0xc0000210, 31, NULL, 0, 0, 0, oui), 0);
	assert_int_equal(decoy_table_seal(&t, NULL), 0);
	assert_int_equal(decoy_table_insert(&t, 0xc0000205, 1, 0, oui), 0);
	assert_int_equal(decoy_table_insert(&t, 0xc0000205, 1, 0, oui), -EEXIST);
	assert_int_equal(decoy_table_insert(&t, 0xc0000220, 1, 0, oui), 0);
	assert_int_equal(decoy_table_insert(&t, 0xc0000230, 1, 0, oui), -ENOSPC);
	assert_int_equal(t.v[0].addr, 0xc0000205);
	assert_int_equal(t.v[3].addr, 0xc0000220);
	assert_non_null(decoy_find(&t, 0xc0000211));
	assert_int_equal(decoy_find(&t, 0xc0000205)->group, 1);
	decoy_table_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claims_after_unanswered_requests),
		cmocka_unit_test(test_answered_probe_is_never_claimed),
		cmocka_unit_test(test_storm_is_bounded),
		cmocka_unit_test(test_insert_keeps_table_sorted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
