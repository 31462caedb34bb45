/* Unit tests for src/chaff/emit.c: option strings and frame layout. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/emit.h"
#include "chaff/frame.h"

static void
test_options(void **state)
{
	uint8_t b[40];
	static const uint8_t want[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 8, 10,
					0, 0, 0, 5, 0, 0, 0, 9, 4, 2, 0, 0 };

	assert_int_equal(emit_tcp_options("M5B4NW8NNT11S", 5, 9, b, sizeof(b)), 24);
	assert_memory_equal(b, want, sizeof(want));
	/* T10: tsecr zero even when the peer sent one. */
	assert_int_equal(emit_tcp_options("T10", 5, 9, b, sizeof(b)), 12);
	assert_int_equal(b[6] | b[7] | b[8] | b[9], 0);
	assert_int_equal(emit_tcp_options("", 0, 0, b, sizeof(b)), 0);
	assert_int_equal(emit_tcp_options("Q", 0, 0, b, sizeof(b)), -EINVAL);
	assert_int_equal(emit_tcp_options("M", 0, 0, b, sizeof(b)), -EINVAL);
	assert_int_equal(emit_tcp_options("T2", 0, 0, b, sizeof(b)), -EINVAL);
	assert_int_equal(emit_tcp_options("M5B4M5B4M5B4", 0, 0, b, 8), -EINVAL);
}

static void
test_frames(void **state)
{
	static const uint8_t a[6] = { 2, 0, 0, 0, 0, 1 }, bm[6] = { 2, 0, 0, 0, 0, 2 };
	uint8_t buf[EMIT_FRAME_MAX], l4[8] = { 8, 0, 0, 0, 0, 1, 0, 1 };
	struct emit_ip ip = { .src = 0x01020304, .dst = 0x05060708, .ttl = 128, .proto = 1,
			      .df = true, .id = 0x1234 };
	struct frame f;
	size_t n;

	n = emit_ipv4(buf, sizeof(buf), bm, a, &ip, l4, sizeof(l4));
	assert_int_equal(n, 60);	/* padded to the Ethernet minimum */
	assert_int_equal(frame_parse(buf, n, &f), 0);
	assert_int_equal(f.ip.ttl, 128);
	assert_int_equal(f.ip.id, 0x1234);
	assert_int_equal(f.ip.frag, 0x4000);
	assert_int_equal(f.ip.total_len, 28);
	assert_int_equal(emit_ipv4(buf, 40, bm, a, &ip, l4, sizeof(l4)), 0);
	n = emit_arp(buf, sizeof(buf), bm, 2, a, 1, bm, 2);
	assert_int_equal(n, 60);
	assert_int_equal(emit_arp(buf, 59, bm, 2, a, 1, bm, 2), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
