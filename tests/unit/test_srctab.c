/* Unit tests for ins/srctab: lookup, fixed pool, deny and sweep. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proto/insproto.h"
#include "ins/srctab.h"

static void
addr_of(uint32_t i, uint8_t a[16])
{
	memset(a, 0, 16);
	a[0] = 192;
	a[1] = 0;
	a[2] = (uint8_t)(i >> 8);
	a[3] = (uint8_t)i;
}

static void
test_get_and_pool(void **state)
{
	struct srctab t;
	uint8_t a[16];

	assert_int_equal(srctab_init(&t, 4, 42), 0);
	for (uint32_t i = 0; i < 4; i++) {
		addr_of(i, a);
		assert_non_null(srctab_get(&t, INS_AF_INET, a, true, 0));
	}
	addr_of(99, a);
	assert_null(srctab_get(&t, INS_AF_INET, a, true, 0));	/* pool exhausted */
	addr_of(2, a);
	assert_non_null(srctab_get(&t, INS_AF_INET, a, false, 0));
	assert_null(srctab_get(&t, INS_AF_INET6, a, false, 0));	/* family is part of the key */
	assert_int_equal(t.used, 4);
	{
		uint8_t m[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 0, 2 };

		/* ::ffff:192.0.0.2 is the IPv4 source 192.0.0.2 */
		assert_ptr_equal(srctab_get(&t, INS_AF_INET6, m, false, 0),
				 srctab_get(&t, INS_AF_INET, a, false, 0));
	}
	srctab_free(&t);
}

static void
test_deny_and_sweep(void **state)
{
	struct srctab t;
	struct srctab_entry *e;
	uint8_t a[16];

	assert_int_equal(srctab_init(&t, 8, 1), 0);
	addr_of(1, a);
	e = srctab_get(&t, INS_AF_INET, a, true, 1000);
	assert_false(srctab_note_drop(e, 3, 5000, 1000));
	assert_false(srctab_note_drop(e, 3, 5000, 1000));
	assert_true(srctab_note_drop(e, 3, 5000, 1000));
	assert_true(srctab_denied(e, 1001));
	assert_false(srctab_denied(e, 6000));
	e->held = 1;
	assert_int_equal(srctab_sweep(&t, 100000, 10), 0);	/* still holding */
	e->held = 0;
	assert_int_equal(srctab_sweep(&t, 3000, 10), 0);	/* still denied */
	assert_int_equal(srctab_sweep(&t, 100000, 10), 1);
	assert_int_equal(t.used, 0);
	assert_null(srctab_get(&t, INS_AF_INET, a, false, 0));
	srctab_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_and_pool),
		cmocka_unit_test(test_deny_and_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
