/* Unit tests for common/cursor.h: every read is bounded, sub-cursors confine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/cursor.h"

static void
test_reads_in_order(void **state)
{
	const uint8_t buf[] = { 1, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
		0, 0, 0, 0, 0, 0, 0, 9 };
	struct cursor c = cur_init(buf, sizeof(buf));
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	assert_true(cur_u8(&c, &u8));
	assert_int_equal(u8, 1);
	assert_true(cur_be16(&c, &u16));
	assert_int_equal(u16, 0x0203);
	assert_true(cur_be32(&c, &u32));
	assert_int_equal(u32, 0x04050607);
	assert_true(cur_be64(&c, &u64));
	assert_int_equal(u64, 9);
	assert_true(cur_empty(&c));
	assert_false(cur_u8(&c, &u8));
}

static void
test_short_read_consumes_nothing(void **state)
{
	const uint8_t buf[] = { 1, 2, 3 };
	struct cursor c = cur_init(buf, sizeof(buf));
	uint32_t u32 = 0xdeadbeef;
	uint64_t u64;

	assert_false(cur_be32(&c, &u32));
	assert_int_equal(u32, 0xdeadbeef);
	assert_int_equal(cur_left(&c), 3);
	assert_false(cur_be64(&c, &u64));
	assert_int_equal(cur_left(&c), 3);
	assert_false(cur_skip(&c, 4));
	assert_true(cur_skip(&c, 3));
}

static void
test_sub_cursor_confines(void **state)
{
	const uint8_t buf[] = { 0, 2, 0xaa, 0xbb, 0xcc, 0xdd };
	struct cursor c = cur_init(buf, sizeof(buf)), sub;
	uint16_t n;
	uint8_t b;

	assert_true(cur_be16(&c, &n));
	assert_true(cur_sub(&c, n, &sub));
	assert_true(cur_u8(&sub, &b));
	assert_int_equal(b, 0xaa);
	assert_true(cur_u8(&sub, &b));
	assert_false(cur_u8(&sub, &b));	/* 0xcc belongs to the parent */
	assert_int_equal(cur_left(&c), 2);
	assert_false(cur_sub(&c, 3, &sub));	/* lying length */
}

static void
test_uint_n(void **state)
{
	const uint8_t buf[] = { 0x01, 0x02, 0x03 };
	struct cursor c = cur_init(buf, sizeof(buf));
	uint64_t v;

	assert_false(cur_uint_n(&c, 0, &v));
	assert_false(cur_uint_n(&c, 9, &v));
	assert_false(cur_uint_n(&c, 4, &v));
	assert_true(cur_uint_n(&c, 3, &v));
	assert_int_equal(v, 0x010203);
}

/* Little-endian reads: the low byte first; a short read consumes nothing. */
static void
test_little_endian(void **state)
{
	static const uint8_t b[] = { 0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 0xff };
	struct cursor c = cur_init(b, sizeof(b));
	uint16_t u16;
	uint32_t u32;

	(void)state;
	assert_true(cur_le16(&c, &u16));
	assert_int_equal(u16, 0x1234);
	assert_true(cur_le32(&c, &u32));
	assert_int_equal(u32, 0x12345678);
	assert_false(cur_le16(&c, &u16));
	assert_false(cur_le32(&c, &u32));
	assert_int_equal(cur_left(&c), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_in_order),
		cmocka_unit_test(test_short_read_consumes_nothing),
		cmocka_unit_test(test_sub_cursor_confines),
		cmocka_unit_test(test_uint_n),
		cmocka_unit_test(test_little_endian),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
