/* Unit tests for common/wbuf.h: writes are bounded, overflow is sticky and
 * writes nothing, reservations patch in place, and the cursor reads back
 * exactly what the writer wrote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/cursor.h"
#include "common/wbuf.h"

static void
test_network_order(void **state)
{
	static const uint8_t want[] = {
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
		0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
		0xaa, 0xbb, 0x00, 0x00, 0x00, 0xcc, 0x01, 0x02, 0x03,
	};
	static const uint8_t tail[] = { 0xaa, 0xbb };
	uint8_t buf[64];
	struct wbuf w = wb_init(buf, sizeof(buf));

	assert_true(wb_u8(&w, 0x01));
	assert_true(wb_u16(&w, 0x0203));
	assert_true(wb_u32(&w, 0x04050607));
	assert_true(wb_u64(&w, 0x08090a0b0c0d0e0fULL));
	assert_true(wb_bytes(&w, tail, sizeof(tail)));
	assert_true(wb_zero(&w, 3));
	assert_true(wb_uint_n(&w, 0xcc, 1));
	assert_true(wb_uint_n(&w, 0x99010203ULL, 3));	/* low 3 bytes */
	assert_true(wb_ok(&w));
	assert_int_equal(wb_len(&w), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(wb_left(&w), sizeof(buf) - sizeof(want));
}

static void
test_little_endian(void **state)
{
	static const uint8_t want[] = {
		0x02, 0x01, 0x04, 0x03, 0x02, 0x01,
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
	};
	uint8_t buf[sizeof(want)];
	struct wbuf w = wb_init(buf, sizeof(buf));

	assert_true(wb_u16_le(&w, 0x0102));
	assert_true(wb_u32_le(&w, 0x01020304));
	assert_true(wb_u64_le(&w, 0x0102030405060708ULL));
	assert_true(wb_ok(&w));
	assert_int_equal(wb_left(&w), 0);
	assert_memory_equal(buf, want, sizeof(want));
}

static void
test_overflow_writes_nothing_and_sticks(void **state)
{
	uint8_t buf[8];
	struct wbuf w;

	memset(buf, 0xee, sizeof(buf));
	w = wb_init(buf, 5);
	assert_true(wb_u32(&w, 0x11223344));
	assert_false(wb_u16(&w, 0x5566));		/* 1 byte left: nothing written */
	assert_false(wb_ok(&w));
	assert_int_equal(wb_len(&w), 4);
	assert_int_equal(buf[4], 0xee);
	assert_false(wb_u8(&w, 0x77));		/* would fit, but overflow sticks */
	assert_int_equal(buf[4], 0xee);
	assert_int_equal(wb_len(&w), 4);
	assert_int_equal(wb_left(&w), 0);
	assert_null(wb_reserve(&w, 0));
}

static void
test_every_width_at_every_room(void **state)
{
	/* Each write either fits entirely or leaves buffer and length alone. */
	for (size_t cap = 0; cap <= 8; cap++) {
		for (unsigned kind = 0; kind < 7; kind++) {
			static const size_t width[] = { 1, 2, 4, 8, 2, 4, 8 };
			uint8_t buf[16];
			struct wbuf w = wb_init(buf, cap);
			bool ok = false;

			memset(buf, 0xee, sizeof(buf));
			switch (kind) {
			case 0: ok = wb_u8(&w, 0); break;
			case 1: ok = wb_u16(&w, 0); break;
			case 2: ok = wb_u32(&w, 0); break;
			case 3: ok = wb_u64(&w, 0); break;
			case 4: ok = wb_u16_le(&w, 0); break;
			case 5: ok = wb_u32_le(&w, 0); break;
			case 6: ok = wb_u64_le(&w, 0); break;
			}
			assert_int_equal(ok, width[kind] <= cap);
			assert_int_equal(wb_ok(&w), ok);
			assert_int_equal(wb_len(&w), ok ? width[kind] : 0);
			for (size_t i = ok ? width[kind] : 0; i < sizeof(buf); i++)
				assert_int_equal(buf[i], 0xee);
		}
	}
}

static void
test_reserve_and_patch_a_length(void **state)
{
	static const uint8_t want[] = { 0x00, 0x02, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef };
	uint8_t buf[16];
	struct wbuf w = wb_init(buf, sizeof(buf));
	uint8_t *len;
	size_t start;

	/* An IPFIX-style set: id, length (patched), contents. */
	start = wb_len(&w);
	assert_true(wb_u16(&w, 2));
	len = wb_reserve(&w, 2);
	assert_non_null(len);
	assert_true(wb_u32(&w, 0xdeadbeef));
	wb_patch_u16(len, (uint16_t)(wb_len(&w) - start));
	assert_true(wb_ok(&w));
	assert_memory_equal(buf, want, sizeof(want));
}

static void
test_failed_reserve_patch_is_harmless(void **state)
{
	uint8_t buf[3];
	struct wbuf w = wb_init(buf, sizeof(buf));
	uint8_t *q;

	assert_true(wb_u8(&w, 1));
	q = wb_reserve(&w, 4);
	assert_null(q);
	wb_patch_u8(q, 1);
	wb_patch_u16(q, 1);
	wb_patch_u32(q, 1);
	wb_patch_u64(q, 1);
	wb_patch_u16_le(q, 1);
	wb_patch_u32_le(q, 1);
	wb_patch_u64_le(q, 1);
	assert_false(wb_ok(&w));
	assert_int_equal(wb_len(&w), 1);
}

static void
test_uint_n_rejects_bad_widths(void **state)
{
	uint8_t buf[16];
	struct wbuf w = wb_init(buf, sizeof(buf));

	assert_false(wb_uint_n(&w, 1, 0));
	assert_false(wb_ok(&w));
	w = wb_init(buf, sizeof(buf));
	assert_false(wb_uint_n(&w, 1, 9));
	assert_false(wb_ok(&w));
	assert_int_equal(wb_len(&w), 0);
}

static void
test_round_trip_through_cursor(void **state)
{
	uint8_t buf[64], bytes[3];
	struct wbuf w = wb_init(buf, sizeof(buf));
	struct cursor c, sub;
	uint8_t *len;
	uint64_t u64, un;
	uint32_t u32;
	uint16_t u16;
	uint8_t u8;

	assert_true(wb_u8(&w, 0x9a));
	assert_true(wb_u16(&w, 0xbeef));
	len = wb_reserve(&w, 2);
	assert_true(wb_bytes(&w, "xyz", 3));
	wb_patch_u16(len, 3);
	assert_true(wb_u32(&w, 0xcafef00d));
	assert_true(wb_u64(&w, 0x0123456789abcdefULL));
	assert_true(wb_uint_n(&w, 0x123456, 3));
	assert_true(wb_ok(&w));

	c = cur_init(buf, wb_len(&w));
	assert_true(cur_u8(&c, &u8));
	assert_int_equal(u8, 0x9a);
	assert_true(cur_be16(&c, &u16));
	assert_int_equal(u16, 0xbeef);
	assert_true(cur_be16(&c, &u16));
	assert_true(cur_sub(&c, u16, &sub));
	assert_true(cur_bytes(&sub, bytes, 3));
	assert_memory_equal(bytes, "xyz", 3);
	assert_true(cur_be32(&c, &u32));
	assert_int_equal(u32, 0xcafef00d);
	assert_true(cur_be64(&c, &u64));
	assert_int_equal(u64, 0x0123456789abcdefULL);
	assert_true(cur_uint_n(&c, 3, &un));
	assert_int_equal(un, 0x123456);
	assert_true(cur_empty(&c));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_network_order),
		cmocka_unit_test(test_little_endian),
		cmocka_unit_test(test_overflow_writes_nothing_and_sticks),
		cmocka_unit_test(test_every_width_at_every_room),
		cmocka_unit_test(test_reserve_and_patch_a_length),
		cmocka_unit_test(test_failed_reserve_patch_is_harmless),
		cmocka_unit_test(test_uint_n_rejects_bad_widths),
		cmocka_unit_test(test_round_trip_through_cursor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
