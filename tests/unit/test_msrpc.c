/* Unit tests for src/chaff/msrpc.c: the bind_nak nmap names "Microsoft Windows RPC". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/msrpc.h"

static void
test_bind_nak(void **state)
{
	/* A DCE/RPC bind with call id 0x11223344. */
	static const uint8_t bind[] = "\x05\x00\x0b\x03\x10\x00\x00\x00\x48\x00\x00\x00"
				      "\x44\x33\x22\x11";
	uint8_t out[64];
	size_t n;

	(void)state;
	n = msrpc_answer(bind, sizeof(bind) - 1, out, sizeof(out));
	assert_int_equal(n, 24);
	assert_memory_equal(out, "\x05\x00\x0d\x03\x10\x00\x00\x00\x18\x00\x00\x00"
			    "\x44\x33\x22\x11\x04\x00\x01\x05\x00\x00\x00\x00", 24);
	/* Anything short: call id 0. */
	n = msrpc_answer((const uint8_t *)"x", 1, out, sizeof(out));
	assert_int_equal(n, 24);
	assert_memory_equal(out + 12, "\0\0\0\0", 4);
	assert_int_equal(msrpc_answer(bind, 16, out, 23), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_nak),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
